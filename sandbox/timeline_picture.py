"""The picture of a rolled-back canary, drawn by the real commands in a sandbox world (README's picture).

    .venv/bin/python -m sandbox.timeline_picture docs/timeline-rolled-back-canary.svg [more.html ...]
        [--engine codedeploy|ecs] [--time-scale N] [--fault error_rate=0.5,path=/browse]

Starts a world for product-service (dev) whose replacement answers half its requests with 500
(``--fault``, default ``error_rate=0.5``), runs ``bluegreen deploy product-service --strategy
canary10`` (the 5xx alarm fires and the deployment is rolled back: exit 1), then ``bluegreen
timeline ID --out OUT`` for each OUT and ``bluegreen timeline ID`` (printed), all in this process
through ``orchestrator.cli.main``. With ``error_rate=0.5`` the smoke checks' own 500s may trip the
alarm before any user reaches green; README's picture uses ``error_rate=0.5,path=/browse`` (only
the users' path fails), so the alarm stops the canary while green has its 10 %.

Time scale: 1 by default (real time, 2-4 minutes), which is how README's picture was made. Any
scale draws the same lanes: the Lambda runner stamps the hooks' log lines and the alarm evaluator
the alarms' history on the world's virtual clock, the one the engines answer in (as in AWS, one
clock), and tests/sandbox/test_why_e2e.py checks both land inside the deployment's window at 40x.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator.vocabulary import EngineName

REPO = Path(__file__).resolve().parent.parent
SERVICE = "product-service"
FAULT = "error_rate=0.5"


@dataclass(frozen=True)
class Picture:
    """What the run did: deploy's exit code and document, and timeline's exit code for each file."""

    deploy_code: int
    deployment: dict[str, object]
    timeline_codes: tuple[int, ...]
    timeline: dict[str, object]  # `bluegreen timeline ID --out OUTS[0] --output json`
    text: str  # `bluegreen timeline ID` (the terminal's compact text)

    @property
    def deployment_id(self) -> str:
        return str(self.deployment.get("deploymentId") or "")


def bluegreen(*args: str) -> tuple[int, str, str]:
    """``bluegreen ARGS`` in this process: (exit code, stdout, stderr)."""
    from orchestrator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def draw(
    outs: list[Path],
    engine: EngineName,
    time_scale: float,
    fault: str = FAULT,
    catalog: Path = REPO / "services.yaml",
) -> Picture:
    """Deploy product-service's faulty canary in a fresh world and write its timeline to each of ``outs``."""
    from sandbox.world import World, WorldOptions

    options = WorldOptions(time_scale=time_scale, engine=engine)
    with World(catalog, "dev", [SERVICE], fault, options):
        return rolled_back_canary(SERVICE, outs, time_scale, catalog, engine)


def rolled_back_canary(
    service: str, outs: list[Path], time_scale: float, catalog: Path, engine: EngineName | None = None
) -> Picture:
    """In a running world whose ``service`` is faulty: deploy its canary10, then draw its timeline
    (``engine`` None: the catalog's)."""
    engine_flag = ("--engine", engine.value) if engine is not None else ()
    code, out, err = bluegreen(
        "--catalog", str(catalog), "deploy", service, "--strategy", "canary10", *engine_flag,
        "--time-scale", f"{time_scale:g}", "--output", "json",
    )  # fmt: skip
    deployment = json.loads(out) if out.startswith("{") else {"error": err}
    deployment_id = str(deployment.get("deploymentId") or "")
    codes, documents = [], []
    for path in outs:  # each run's document is the timeline too (with the path it wrote)
        timeline_code, document, timeline_err = bluegreen(
            "--catalog", str(catalog), "timeline", deployment_id, "--out", str(path), "--output", "json"
        )
        if timeline_code != 0:
            sys.stderr.write(timeline_err)
        codes.append(timeline_code)
        documents.append(json.loads(document) if document.startswith("{") else {})
    _, text, _ = bluegreen("--catalog", str(catalog), "timeline", deployment_id)
    return Picture(code, deployment, tuple(codes), documents[0] if documents else {}, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", nargs="+", type=Path, help="files to write (.svg, .png or .html)")
    parser.add_argument(
        "--engine", choices=[e.value for e in EngineName], default=EngineName.CODEDEPLOY.value
    )
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--fault", default=FAULT, help=f"the replacement's fault [default: {FAULT}]")
    args = parser.parse_args(argv)
    picture = draw(args.out, EngineName(args.engine), args.time_scale, args.fault)
    print(f"$ bluegreen timeline {picture.deployment_id}\n{picture.text}", end="")
    print(f"deploy exit {picture.deploy_code} ({picture.deployment.get('outcome')}): {picture.deployment_id}")
    for path, code in zip(args.out, picture.timeline_codes, strict=True):
        print(f"timeline exit {code}: {path}")
    expected = picture.deploy_code == 1 and all(code == 0 for code in picture.timeline_codes)
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
