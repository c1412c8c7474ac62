"""Cold start of the hook Lambdas, as ratios to `python -c "import boto3"`, measured in one run.

    python bench/hook_cold_start.py [--repeat 9]

The hooks run from the Lambda package as ``scripts/build_lambda.py --no-deps`` builds it (into a
temporary directory, first on the path, ``BLUEGREEN_CATALOG`` at its services.yaml as template.yaml
sets it; the dependencies come from this interpreter's site-packages). Each figure is the median over
fresh interpreter processes (the measurements are interleaved so machine noise hits them alike) of
the time a statement takes inside the process, as wall-clock time (what a cold start waits) and as
the process's CPU time (the work itself; on a loaded machine the wall clock adds other processes'
turns, so its ratios swing by 0.3x or more from run to run):
- ``import boto3``: the baseline (1.00);
- ``import hooks.handlers`` (the five lifecycle hooks) and ``import hooks.audit`` (the scheduled
  audit): what a cold start pays before the handler runs;
- ``ready``: ``import hooks.handlers`` and then what the first invocation of every hook does before
  its checks: the CodeDeploy clients for reads (GetDeployment) and for the report, and its service
  found in the catalog (the build's snapshot; the process checks it was used); aim for at most 1.5;
- ``ready + ELBv2, CloudWatch clients``: the hooks that read them (AfterInstall's target health, the
  smoke checks' listeners, the alarm gates) make them on first use; this is the dearest first call;
- ``ready, catalog from services.yaml``: as ``ready`` with ``BLUEGREEN_CATALOG`` at another copy of
  the catalog (the sandbox, the tests): no snapshot applies, the catalog's pydantic models load it;
- ``import hooks.ledger`` and ``ledger ready``: the ledger Lambda (``hooks/ledger.py``), and what its
  first CodeDeploy event does before its first call: the CodeDeploy and DynamoDB clients, the record
  and DORA modules, its service from the snapshot; the same goal, at most 1.5.
Tracing is off (POWERTOOLS_TRACE_DISABLED=true), as deployed by default. The package carries
bytecode for this interpreter, as a build with python3.12 ships it for Lambda.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = "import time\nstarted, cpu = time.perf_counter(), time.process_time()\n"
REPORT = "\nprint(time.perf_counter() - started, time.process_time() - cpu)\n"
# A case: (statement timed, statement checked afterwards, environment changes).
Case = tuple[str, str, dict[str, str]]
READY = (
    "import hooks.handlers\n"
    "from hooks import clients, settings\n"
    "clients.client('codedeploy')\n"
    "clients.reporting_client()\n"
    "settings.service_for({application!r}, {group!r})"
)
EVERY_CLIENT = "\nclients.client('elbv2')\nclients.client('cloudwatch')"
LEDGER_READY = (
    "import hooks.ledger\n"
    "from hooks import clients, settings\n"
    "clients.client('codedeploy')\n"
    "clients.client('dynamodb')\n"
    "import orchestrator.insight.codedeploy_records, orchestrator.insight.dora\n"
    "import orchestrator.insight.provenance\n"
    "settings.service_for({application!r}, {group!r})"
)
# Checked after the time is taken: the figure is of the path its name says.
USED_SNAPSHOT = "\nassert settings.services().from_snapshot, 'the snapshot was not used'\n"
USED_YAML = "\nassert not settings.services().from_snapshot, 'services.yaml was not loaded'\n"


def cases(package: Path, elsewhere: Path) -> dict[str, Case]:
    """name -> (statement timed, statement checked afterwards, environment changes)."""
    snapshot = json.loads((package / "hooks" / "catalog_snapshot.json").read_text(encoding="utf-8"))
    first = snapshot["services"][0]
    ready = READY.format(application=first["application"], group=first["deployment_group"])
    return {
        "import boto3": ("import boto3", "", {}),
        "import hooks.handlers": ("import hooks.handlers", "", {}),
        "import hooks.audit": ("import hooks.audit", "", {}),
        "ready (hooks.handlers + CodeDeploy clients + service)": (ready, USED_SNAPSHOT, {}),
        "ready + ELBv2, CloudWatch clients": (ready + EVERY_CLIENT, USED_SNAPSHOT, {}),
        "ready, catalog from services.yaml": (ready, USED_YAML, {"BLUEGREEN_CATALOG": str(elsewhere)}),
        "import hooks.ledger": ("import hooks.ledger", "", {}),
        "ledger ready (+ CodeDeploy, DynamoDB clients, records, service)": (
            LEDGER_READY.format(application=first["application"], group=first["deployment_group"]),
            USED_SNAPSHOT,
            {},
        ),
    }


def build_package(out: Path) -> None:
    """The package as the build makes it, with bytecode for this interpreter (the build ships it for
    python3.12, the Lambda's): without it every run would compile every module of the package."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_lambda.py"), "--out", str(out), "--no-deps"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )


def environment(package: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}
    env.update(
        {
            "PYTHONPATH": str(package),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "ap-northeast-2"),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true",
            "BLUEGREEN_CATALOG": str(package / "services.yaml"),
        }
    )
    return env


def measure_once(case: Case, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of the case's statement in a fresh process."""
    statement, check, changes = case
    run = subprocess.run(
        [sys.executable, "-c", SETUP + statement + REPORT + check],
        cwd=cwd,
        env={**env, **changes},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if run.returncode != 0:
        raise SystemExit(f"hook_cold_start: {statement.splitlines()[-1]!r} failed:\n{run.stderr}")
    wall, cpu = run.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def measure(repeat: int, workdir: Path) -> dict[str, list[tuple[float, float]]]:
    package = workdir / "lambda"
    build_package(package)
    elsewhere = workdir / "elsewhere"
    shutil.copytree(package, elsewhere, ignore=shutil.ignore_patterns("hooks", "orchestrator"))
    env = environment(package)
    named = cases(package, elsewhere / "services.yaml")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in named}
    for case in named.values():  # warm the file cache first
        measure_once(case, env, workdir)
    for _ in range(repeat):
        for name, case in named.items():
            samples[name].append(measure_once(case, env, workdir))
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cold start of the hook Lambdas vs import boto3.")
    parser.add_argument("--repeat", type=int, default=9, help="fresh processes per case (default 9)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hook-cold-start-") as workdir:
        samples = measure(args.repeat, Path(workdir))
    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    print(f"hook cold start: median of {args.repeat} fresh processes each, ratio to `import boto3`")
    width = max(len(name) for name in samples)
    print(f"  {'':<{width}}  {'wall clock':>16}  {'CPU (this process)':>18}")
    for name in samples:
        ratios = wall[name] / wall["import boto3"], cpu[name] / cpu["import boto3"]
        print(
            f"  {name:<{width}}  {wall[name] * 1000:7.1f} ms {ratios[0]:5.2f}x"
            f"  {cpu[name] * 1000:9.1f} ms {ratios[1]:5.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
