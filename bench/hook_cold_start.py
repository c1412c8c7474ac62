"""Cold start of the hook Lambdas, as ratios to `python -c "import boto3"`, measured in one run.

    python bench/hook_cold_start.py [--repeat 9]

Each figure is the median over fresh interpreter processes (the measurements are interleaved so
machine noise hits them alike) of the time a statement takes inside the process:
- ``import boto3``: the baseline (1.00);
- ``import hooks.handlers`` (the five lifecycle hooks) and ``import hooks.audit`` (the scheduled
  audit): what a cold start pays before the handler runs; aim for at most 1.5;
- ``ready``: ``import hooks.handlers`` and then what the first invocation does before its first AWS
  call: boto3 clients for CodeDeploy, ELBv2, CloudWatch and reporting, and the bundled catalog
  loaded and validated. The hooks defer these (settings are read lazily), so they are not in the
  import figure; this line shows what they cost.
Tracing is off (POWERTOOLS_TRACE_DISABLED=true), as deployed by default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = "import time\nstarted = time.perf_counter()\n"
REPORT = "\nprint(time.perf_counter() - started)\n"
CASES: dict[str, str] = {
    "import boto3": "import boto3",
    "import hooks.handlers": "import hooks.handlers",
    "import hooks.audit": "import hooks.audit",
    "ready (hooks.handlers + clients + catalog)": (
        "import hooks.handlers\n"
        "from hooks import clients, settings\n"
        "for name in ('codedeploy', 'elbv2', 'cloudwatch'):\n"
        "    clients.client(name)\n"
        "clients.reporting_client()\n"
        "settings.catalog()"
    ),
}


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "ap-northeast-2"),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true",
            "BLUEGREEN_CATALOG": str(ROOT / "services.yaml"),
        }
    )
    return env


def measure_once(statement: str, env: dict[str, str]) -> float:
    run = subprocess.run(
        [sys.executable, "-c", SETUP + statement + REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(run.stdout.strip().splitlines()[-1])


def measure(repeat: int) -> dict[str, list[float]]:
    env = environment()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for statement in CASES.values():  # warm the file cache first
        measure_once(statement, env)
    for _ in range(repeat):
        for name, statement in CASES.items():
            samples[name].append(measure_once(statement, env))
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cold start of the hook Lambdas vs import boto3.")
    parser.add_argument("--repeat", type=int, default=9, help="fresh processes per case (default 9)")
    args = parser.parse_args(argv)
    samples = measure(args.repeat)
    baseline = statistics.median(samples["import boto3"])
    print(f"hook cold start: median of {args.repeat} fresh processes each, ratio to `import boto3`")
    width = max(len(name) for name in CASES)
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<{width}}  {median * 1000:7.1f} ms  {median / baseline:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
