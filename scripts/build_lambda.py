"""Build the Lambda package for template.yaml (CodeUri: build/lambda).

    python scripts/build_lambda.py [--out build/lambda] [--no-deps]

The package is what the hooks and the alarm audit import at run time, and nothing else:
hooks/ + orchestrator/ (only its pure modules are imported; cli.py is never loaded) + services.yaml +
task-definitions/ (the catalog checks the files it names) + alarms/, plus hooks/requirements.txt
installed for python3.12 on arm64 (binary wheels only, so pydantic-core matches the Lambda's CPU).
``--no-deps`` skips the install (tests; or a layer provides them). Bytecode is compiled with a
python3.12 (this interpreter, $BLUEGREEN_LAMBDA_PYTHON, or python3.12 on the PATH), since Lambda
cannot write its own: e.g. ``BLUEGREEN_LAMBDA_PYTHON=~/.pyenv/versions/3.12.1/bin/python3.12``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("hooks", "orchestrator", "services.yaml", "task-definitions", "alarms")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"


def copy_sources(out: Path) -> None:
    """The project files the Lambda needs, into a fresh ``out``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, out / name)
        else:
            raise SystemExit(f"build_lambda: {source} is missing")


# The Tracer's SDK, installed without dependencies: its botocore must stay the runtime's own.
TRACING = ("aws-xray-sdk>=2.12,<3", "wrapt>=1.14")


def install_requirements(out: Path) -> None:
    """hooks/requirements.txt (and the tracing SDK) for the Lambda's runtime and architecture."""
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-warn-conflicts",
        "--target", str(out), "--upgrade",
        "--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--only-binary=:all:",
    ]  # fmt: skip
    subprocess.run([*pip, "--requirement", str(ROOT / "hooks" / "requirements.txt")], check=True)
    subprocess.run([*pip, "--no-deps", *TRACING], check=True)
    shadowing = runtime_shadowing(out)
    if shadowing:
        raise SystemExit(f"build_lambda: {', '.join(shadowing)} would shadow the Lambda runtime's own")


# What the python3.12 Lambda runtime provides: a copy in /var/task would come first on the path.
# urllib3 included: the smoke checks use the runtime's (the one botocore was tested with).
RUNTIME_OWNED = ("boto3", "botocore", "s3transfer", "urllib3")


def runtime_shadowing(out: Path) -> list[str]:
    """The runtime's packages that ``out`` holds a copy of (as a package or a single module)."""
    return [name for name in RUNTIME_OWNED if (out / name).exists() or (out / f"{name}.py").exists()]


PYTHON_ENV_VAR = "BLUEGREEN_LAMBDA_PYTHON"


def lambda_python() -> str | None:
    """An interpreter of the Lambda's Python version to compile bytecode with: this one, else
    $BLUEGREEN_LAMBDA_PYTHON, else python3.12 on the PATH; None when none of them is 3.12."""
    candidates = [sys.executable, os.environ.get(PYTHON_ENV_VAR, ""), f"python{PYTHON_VERSION}"]
    for candidate in filter(None, candidates):
        try:
            run = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except OSError:
            continue
        if run.returncode == 0 and run.stdout.strip() == PYTHON_VERSION:
            return candidate
    return None


def compile_bytecode(out: Path, python: str) -> None:
    """/var/task is read-only, so Lambda never caches bytecode: ship it, or every cold start compiles
    every module again (measured here: import + catalog about 0.5 s with it, 1.2 s without).
    Unchecked-hash .pyc files: timestamp ones compare the source's mtime, which a zip written by
    Python's zipfile (as `sam package` does; DOS times, 2-second resolution) does not keep: after
    such a round trip here, 9 of the 103 modules `import hooks.handlers` loads used their .pyc
    (timestamp) against 103 of 103 (unchecked-hash)."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(out)],
        check=False,  # a file that does not compile (a stray test fixture) only stays source
        timeout=600,
    )


def write_catalog_snapshot(out: Path) -> None:
    """``hooks/catalog_snapshot.json``: the package's catalog resolved now, so a cold hook finds its
    service without loading pydantic (``hooks.catalog_snapshot``). A catalog that cannot be resolved
    as the Lambda would (none of its ``${VAR}`` variables set) gets no snapshot: the hooks then load
    services.yaml themselves, and say what is wrong with it."""
    sys.path.insert(0, str(out))  # the package's own modules, resolving the package's own catalog
    # Importing from the package must not leave __pycache__/ in it: the package is the sources only
    # (a test runs it from its own files), whatever PYTHONDONTWRITEBYTECODE says.
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        from hooks.catalog_snapshot import build_snapshot, snapshot_path
        from orchestrator.errors import CatalogError

        target = out / "hooks" / snapshot_path().name
        try:
            snapshot = build_snapshot(out / "services.yaml")
        except (CatalogError, ValueError) as err:
            print(f"build_lambda: no catalog snapshot, the hooks will load services.yaml ({err})")
            return
        target.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    finally:
        sys.path.remove(str(out))
        sys.dont_write_bytecode = dont_write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument("--no-deps", action="store_true", help="copy the sources only")
    args = parser.parse_args(argv)
    copy_sources(args.out)
    write_catalog_snapshot(args.out)
    if not args.no_deps:
        install_requirements(args.out)
    python = lambda_python()
    if python is not None:
        compile_bytecode(args.out, python)
    else:
        print(
            f"build_lambda: no python{PYTHON_VERSION} found (set {PYTHON_ENV_VAR}), so no bytecode is "
            "shipped and every cold start compiles every module"
        )
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"build_lambda: {args.out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
