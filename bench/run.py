"""Run the benchmarks: `python -m bench.run [--scale full|small] [--only NAME ...]`.

Every module bench/bench_<name>.py with a run(scale) -> list[dict] is found automatically. The table shows
each row's value next to its goal and next to a baseline measured in the same run (ratio = value / baseline).
The exit status is 1 when a benchmark misses its goal or fails.
"""

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench.common import SCALES

BENCH_DIR = Path(__file__).resolve().parent
COLUMNS = ("name", "dataset", "value", "goal", "baseline", "ratio", "ok")


def benchmark_names() -> list[str]:
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules([str(BENCH_DIR)])
        if module.name.startswith("bench_")
    )


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def format_table(rows: list[dict]) -> str:
    cells = [
        [
            str(row["name"]),
            str(row["dataset"]),
            f"{_number(row['value'])} {row['unit']}".strip(),
            str(row["goal"]),
            f"{_number(row.get('baseline'))} {row['unit'] if row.get('baseline') is not None else ''}".strip(),
            f"{row['ratio']:.2f}×" if row.get("ratio") is not None else "–",
            "ok" if row["ok"] else "MISSED",
        ]
        for row in rows
    ]
    widths = [max(len(header), *(len(line[i]) for line in cells)) for i, header in enumerate(COLUMNS)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(COLUMNS, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    options = parser.parse_args(argv)

    names = benchmark_names()
    if options.only:
        wanted = [name.removeprefix("bench_") for name in options.only]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(names)}")
        names = [name for name in names if name in wanted]

    rows: list[dict] = []
    failed: list[str] = []
    for name in names:
        print(f"[bench] {name} ({options.scale}) …", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            module_rows = module.run(options.scale)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        rows.extend(module_rows)
        print(f"[bench] {name} done in {time.perf_counter() - started:.1f} s", flush=True)
        print(format_table(module_rows), flush=True)

    print()
    print(f"Benchmarks, scale {options.scale}:")
    print(format_table(rows) if rows else "(no results)")
    if failed:
        print(f"Failed to run: {', '.join(failed)}")
    return 1 if failed or not all(row["ok"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
