"""``make demo``: two rehearsals of `bluegreen deploy ... --sandbox`, each in a fresh local world.

1. canary10, healthy release: lifecycle hooks pass, 10 % for 5 (virtual) minutes, then 100 %: exit 0.
2. canary10 with ``--inject-fault error_rate=0.5``: the alarm fires on the replacement's target
   group, CodeDeploy (the emulator) stops the deployment and rolls back: exit 1, as it should.

The sandbox narrates on stderr what it sees (who answers the users, alarm state changes); the CLI
prints the lifecycle steps and the traffic split. Exit 0 only when both scenarios end as expected.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.world import DEFAULT_TIME_SCALE, NARRATE_ENV_VAR


@dataclass(frozen=True)
class Scenario:
    title: str
    extra: tuple[str, ...]
    expected_exit: int
    expected_text: str


SCENARIOS = (
    Scenario("canary10, healthy release", (), 0, "succeeded"),
    Scenario(
        "canary10, faulty release (error_rate=0.5)", ("--inject-fault", "error_rate=0.5"), 1, "rolled back"
    ),
)


def bluegreen_command() -> list[str]:
    script = Path(sys.executable).with_name("bluegreen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator.cli"]


def run(scenario: Scenario, number: int) -> bool:
    command = [
        *bluegreen_command(),
        "deploy",
        "product-service",
        "--strategy",
        "canary10",
        "--sandbox",
        "--time-scale",
        f"{DEFAULT_TIME_SCALE:g}",
        *scenario.extra,
    ]
    print(f"\n=== {number}. {scenario.title}", flush=True)
    print("$ bluegreen " + " ".join(command[command.index("deploy") :]), flush=True)
    env = {**os.environ, NARRATE_ENV_VAR: "1", "PYTHONUNBUFFERED": "1"}  # lines as they happen
    started = time.monotonic()
    returncode, output = stream(command, env)
    wall = time.monotonic() - started
    ok = returncode == scenario.expected_exit and scenario.expected_text in output.lower()
    verdict = "as expected" if ok else f"UNEXPECTED (wanted exit {scenario.expected_exit})"
    print(f"--- exit {returncode} after {wall:.1f} s wall: {verdict}", flush=True)
    return ok


def stream(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command``, showing its output (stdout and stderr) as it comes; exit code and output."""
    seen: list[str] = []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as running:
        assert running.stdout is not None
        for line in running.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            seen.append(line)
    return running.returncode, "".join(seen)


def next_steps() -> list[str]:
    """How to run `bluegreen` yourself: make installed it into the venv, which is not on PATH."""
    venv = Path(sys.executable).parent.parent
    with contextlib.suppress(ValueError):  # a venv outside the working directory stays absolute
        venv = venv.relative_to(Path.cwd())
    return [
        f"to run bluegreen yourself, activate the venv make built: . {venv}/bin/activate",
        f"(or call it by path: {venv}/bin/bluegreen deploy product-service --sandbox)",
    ]


def main() -> int:
    results = [run(scenario, n) for n, scenario in enumerate(SCENARIOS, start=1)]
    print(
        "\ndemo " + ("passed: both scenarios ended as expected" if all(results) else "FAILED"),
        flush=True,
    )
    for line in next_steps():
        print(line, flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
