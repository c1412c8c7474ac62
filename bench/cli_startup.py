"""How fast `bluegreen --help` starts, as a ratio to `python -c "import boto3"` (aim: <= 1.3).

Both are measured in this one run, as medians of several fresh subprocesses, alternating so that
machine load affects both alike. Run: .venv/bin/python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The installed console script when there is one (what users run), else the same entry point.
_SCRIPT = Path(sys.executable).with_name("bluegreen")
HELP = (
    [str(_SCRIPT), "--help"]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "import sys; from orchestrator.cli import main; sys.exit(main(['--help']))"]
)
BOTO3 = [sys.executable, "-c", "import boto3"]


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    wall_time(HELP)  # warm the file cache and .pyc files for both before measuring
    wall_time(BOTO3)
    help_times, boto3_times = [], []
    for _ in range(args.runs):
        help_times.append(wall_time(HELP))
        boto3_times.append(wall_time(BOTO3))
    help_median, boto3_median = statistics.median(help_times), statistics.median(boto3_times)
    print(f"command: {' '.join(HELP)}")
    print(f"bluegreen --help         median {help_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"python -c 'import boto3' median {boto3_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio {help_median / boto3_median:.2f} (aim: <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
