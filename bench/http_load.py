"""Closed-loop HTTP load from wrk (https://github.com/wg/wrk, Debian's `wrk` package), when it is installed.

wrk is C on an event loop: its 2 threads drive all the connections with a fraction of the CPU that as many
Python client processes take, and on this 2-core machine every cycle a client spends is one the server
under test does not get. Each connection sends its next request as soon as the previous answer is read
(as the Python clients do); the paths are drawn at random from the list; latency runs from writing the
request to reading the whole answer, so the time a request waits for a free gunicorn worker is in it.
"""

import json
import os
import shutil
import subprocess
import tempfile

_SCRIPT = r"""
local paths, headers = {}, {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
for line in io.lines(os.getenv("WRK_HEADERS")) do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  headers[name] = value
end
local thread_number = 0
setup = function(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number)
end
init = function()
  math.randomseed(seed)
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "seconds": %.6f, "p95_ms": %.3f, "median_ms": %.3f, "bad_status": %d,'
      .. ' "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(95) / 1000, latency:percentile(50) / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_load(port: int, headers: dict, paths: list[str], seconds: float, connections: int) -> dict:
    """requests, rps, p95_ms, median_ms of `connections` concurrent clients over `seconds` (whole seconds:
    wrk refuses fractions); raises when an answer was not 2xx/3xx or a socket failed."""
    with tempfile.TemporaryDirectory() as directory:
        files = {"script.lua": _SCRIPT, "paths": "\n".join(paths) + "\n"}
        files["headers"] = "".join(f"{name}: {value}\n" for name, value in headers.items())
        for name, text in files.items():
            with open(os.path.join(directory, name), "w") as handle:
                handle.write(text)
        command = [
            "wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{max(1, round(seconds))}s",
            "--timeout", "60s", "--script", os.path.join(directory, "script.lua"), f"http://127.0.0.1:{port}",
        ]  # fmt: skip
        environment = {
            **os.environ,
            "WRK_PATHS": os.path.join(directory, "paths"),
            "WRK_HEADERS": os.path.join(directory, "headers"),
        }
        output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    line = next((line for line in output.splitlines() if line.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    result = json.loads(line.removeprefix("WRK_RESULT "))
    if result["bad_status"] or result["socket_errors"]:
        raise RuntimeError(
            f"wrk on {paths[0]}: {result['bad_status']} error answers, {result['socket_errors']} socket errors"
        )
    return {
        "requests": result["requests"],
        "rps": result["requests"] / result["seconds"],
        "p95_ms": result["p95_ms"],
        "median_ms": result["median_ms"],
    }
