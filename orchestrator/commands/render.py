"""`bluegreen render SERVICE`: write the AppSpec to appspecs/SERVICE.ENV.yaml (or --out)."""

from __future__ import annotations

from pathlib import Path

from orchestrator import documents
from orchestrator.commands.options import RenderOptions
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError


def run(session: Session, options: RenderOptions) -> Result:
    from orchestrator.appspec import appspec_path, appspec_sha256, ecs_input_for, render_ecs_appspec
    from orchestrator.files.safe_write import write_text_no_follow
    from orchestrator.files.taskdef import validate_task_definition_arn

    service = session.resolve(options.service)
    arn = options.task_definition
    if arn is not None and not arn.startswith("arn:"):
        raise BadInputError(
            f"--task-definition {arn!r}: render takes a task definition ARN (arn:aws:ecs:...)"
        )
    if arn is not None:
        validate_task_definition_arn(arn)
    content = render_ecs_appspec(ecs_input_for(service, arn))
    if options.out == "-":
        return Result(None, content)  # the AppSpec itself, whatever --output says
    if options.out:
        path = Path(options.out)
        write_text_no_follow(path, content)
    else:
        # appspecs/ under the catalog's folder: no link may lead the file elsewhere.
        path = appspec_path(session.catalog.root, service)
        write_text_no_follow(path, content, within=session.catalog.root)
    sha256 = appspec_sha256(content)
    document = documents.RenderDocument(
        service=service.name, environment=service.environment, path=str(path), sha256=sha256
    )
    return Result(document, lines(f"wrote {_shown(path)} (sha256 {sha256[:12]})"))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
