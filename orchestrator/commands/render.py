"""`bluegreen render SERVICE`: write the AppSpec to appspecs/SERVICE.ENV.yaml (or --out)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.commands.options import RenderOptions
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError


def run(session: Session, options: RenderOptions) -> int:
    from orchestrator.appspec import appspec_path, appspec_sha256, ecs_input_for, render_ecs_appspec

    service = session.resolve(options.service)
    arn = options.task_definition
    if arn is not None and not arn.startswith("arn:"):
        raise BadInputError(
            f"--task-definition {arn!r}: render takes a task definition ARN (arn:aws:ecs:...)"
        )
    content = render_ecs_appspec(ecs_input_for(service, arn))
    path = Path(options.out) if options.out else appspec_path(session.catalog.root, service)
    if str(path) == "-":
        session.stdout.write(content)
        return 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as err:
        raise BadInputError(f"cannot write {path}: {err.strerror}") from None
    if session.json:
        session.print_json(
            {
                "service": service.name,
                "environment": service.environment,
                "path": str(path),
                "sha256": appspec_sha256(content),
            }
        )
    else:
        session.print(f"wrote {_shown(path)} (sha256 {appspec_sha256(content)[:12]})")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
