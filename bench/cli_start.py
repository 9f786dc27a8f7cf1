"""How long the `reelforge` command takes to start: `--help` and `jobs` (on an empty data dir,
which opens and migrates the database) against the interpreter's own start-up (`python -c pass`),
measured side by side, interleaved, in one run.

    python bench/cli_start.py [--runs 15]

Each command runs `--runs` times as a new process (`python -m reelforge ...`, the same interpreter
as the console script); the report gives the median and the fastest run in milliseconds and the
ratio of each median to the `python -c pass` baseline.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="reelforge-bench-")
    env = {**os.environ, "REELFORGE_DATA_DIR": data}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "reelforge --help": [sys.executable, "-m", "reelforge", "--help"],
        "reelforge jobs": [sys.executable, "-m", "reelforge", "jobs"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm the bytecode caches once
        subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=60)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            started = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=60)
            times[name].append(time.perf_counter() - started)

    base = statistics.median(times["python -c pass"])
    print(f"{'command':<20} {'median ms':>10} {'fastest ms':>11} {'x baseline':>11}")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:<20} {median * 1000:>10.0f} {min(measured) * 1000:>11.0f} {median / base:>11.1f}")


if __name__ == "__main__":
    main()
