"""Benchmarks: each bench_<name>.py exposes run(scale) -> list of result rows; bench.run prints them."""
