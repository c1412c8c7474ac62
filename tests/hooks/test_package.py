"""The Lambda package: hooks import without the CLI's dependencies, and the built package holds what
the hooks read at run time (the bundled catalog and the files it names) and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("typer", "rich", "moto", "click")

PROBE = """
import json, sys
import hooks.handlers, hooks.audit
print(json.dumps({
    "forbidden": sorted(m for m in %r if m in sys.modules),
    "xray": "aws_xray_sdk" in sys.modules,
    "hooks": hooks.handlers.__file__,
}))
"""


def run_probe(code: str, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_hooks_import_without_typer_rich_or_moto(repo_root: Path) -> None:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    result = run_probe(PROBE % (FORBIDDEN,), repo_root, env)

    assert result["forbidden"] == []
    assert result["xray"] is False  # no Tracer unless tracing is on


def test_built_package_runs_from_its_own_files(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "lambda"
    build = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_lambda.py"), "--out", str(out), "--no-deps"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr

    top = sorted(p.name for p in out.iterdir())
    assert top == ["alarms", "hooks", "orchestrator", "services.yaml", "task-definitions"]
    # No bytecode copied from the checkout; only what the build compiled for the Lambda's Python.
    assert [p for p in out.rglob("*.pyc") if ".cpython-312." not in p.name] == []

    # As in Lambda: the package directory first on the path, no BLUEGREEN_CATALOG, cwd elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}
    env["PYTHONPATH"] = str(out)
    code = (
        PROBE % (FORBIDDEN,)
        + """
from hooks import settings
loaded = settings.catalog()
print(json.dumps({"catalog": str(loaded.path), "services": len(loaded.services),
                  "hooks": hooks.handlers.__file__}))
"""
    )
    result = run_probe(code, tmp_path, env)

    assert result["catalog"] == str(out / "services.yaml")
    assert result["services"] == 16
    assert str(result["hooks"]).startswith(str(out))


@pytest.mark.parametrize("copied", ["boto3", "botocore", "s3transfer", "urllib3"])
def test_build_refuses_a_copy_of_the_runtimes_packages(tmp_path: Path, copied: str) -> None:
    from scripts.build_lambda import runtime_shadowing

    (tmp_path / "pydantic").mkdir()
    assert runtime_shadowing(tmp_path) == []
    (tmp_path / copied).mkdir()
    assert runtime_shadowing(tmp_path) == [copied]


def _python312() -> str | None:
    import glob
    import shutil

    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
    ]
    for candidate in filter(None, candidates):
        run = subprocess.run([candidate, "-V"], capture_output=True, text=True, check=False, timeout=60)
        if run.returncode == 0 and run.stdout.startswith("Python 3.12"):
            return candidate
    return None


def test_build_ships_bytecode_lambda_can_use(repo_root: Path, tmp_path: Path) -> None:
    python = _python312()
    if python is None:
        pytest.skip("no python3.12 here to compile the Lambda's bytecode with")
    out = tmp_path / "lambda"
    env = {**os.environ, "BLUEGREEN_LAMBDA_PYTHON": python}
    build = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_lambda.py"), "--out", str(out), "--no-deps"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert build.returncode == 0, build.stderr

    pyc = out / "hooks" / "__pycache__" / "runtime.cpython-312.pyc"
    # PEP 552 header flags: 0b01 = hash-based, not checked against the source (a zip changes mtimes).
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


READY = """
import json, sys
import hooks.handlers
from hooks import clients, settings
clients.client("codedeploy")
clients.reporting_client()
service = settings.service_for("doa-market-prod", "product-service")
print(json.dumps({
    "snapshot": settings.services().from_snapshot,
    "listener_host": service.listener_host,
    "loaded": sorted(m for m in %r if m in sys.modules),
}))
"""
# What a cold hook need not load before its first AWS call: boto3 (botocore's session makes the
# clients), the catalog's pydantic models and YAML (the build's snapshot), powertools' event classes,
# argparse (only the bench scripts parse arguments with orchestrator.time_scale).
NOT_LOADED = (
    "argparse",
    "boto3",
    "pydantic",
    "yaml",
    "orchestrator.catalog",
    "aws_lambda_powertools.utilities.data_classes",
)


@pytest.fixture(scope="module")
def built_package(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package") / "lambda"
    build = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_lambda.py"), "--out", str(out), "--no-deps"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


def _lambda_env(package: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLUEGREEN_", "AWS_"))}
    return {
        **env,
        "PYTHONPATH": str(package),
        "BLUEGREEN_CATALOG": str(package / "services.yaml"),  # as template.yaml sets it
        "AWS_DEFAULT_REGION": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **extra,
    }


def test_a_cold_hook_finds_its_service_in_the_snapshot(built_package: Path, tmp_path: Path) -> None:
    result = run_probe(READY % (NOT_LOADED,), tmp_path, _lambda_env(built_package))

    assert result == {"snapshot": True, "listener_host": "doa-market-prod-alb.internal", "loaded": []}


def test_a_variable_the_catalog_reads_makes_the_hook_load_the_catalog(
    built_package: Path, tmp_path: Path
) -> None:
    # The sandbox sets BLUEGREEN_LISTENER_HOST: services.yaml's ${BLUEGREEN_LISTENER_HOST:-...} then
    # differs from what the build resolved, so the hook loads the catalog itself.
    env = _lambda_env(built_package, BLUEGREEN_LISTENER_HOST="127.0.0.1")
    result = run_probe(READY % (NOT_LOADED,), tmp_path, env)

    assert result["snapshot"] is False and result["listener_host"] == "127.0.0.1"
    assert "pydantic" in result["loaded"]  # type: ignore[operator]
