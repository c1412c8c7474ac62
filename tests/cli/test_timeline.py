"""`bluegreen timeline`: text, JSON, the --out pictures, bad input; evidence given by hand (the gathering
is `why`'s, tested there; the sandbox test runs the whole thing)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from orchestrator.commands import timeline as command
from orchestrator.errors import BadInputError
from tests.support.cli import run_cli
from tests.support.timeline_evidence import DEPLOYMENT_ID, rolled_back_canary

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The gathering answers the hand-built evidence; the ids it was asked for."""
    asked: list[str] = []

    def gather(engine: Any, clients: Any, session: Any, deployment_id: str) -> Any:
        asked.append(deployment_id)
        return rolled_back_canary()

    monkeypatch.setattr(command, "gather_evidence", gather)
    return asked


def test_text_timeline_on_the_terminal(gathered: list[str]) -> None:
    result = run_cli("timeline", DEPLOYMENT_ID)
    assert result.code == 0, result.stderr  # a rolled-back deployment's picture is still a success
    lines = result.stdout.splitlines()
    assert lines[0] == f"product-service (dev) {DEPLOYMENT_ID} canary10 on codedeploy: rolled back"
    assert max(len(line) for line in lines) <= 100
    assert gathered == [DEPLOYMENT_ID] and result.stderr == ""


def test_json_document_is_the_model(gathered: list[str]) -> None:
    document = run_cli("timeline", DEPLOYMENT_ID, "--output", "json").json()  # checked against the schema
    assert document["deploymentId"] == DEPLOYMENT_ID and document["outcome"] == "rolled back"
    assert document["origin"] == "2026-11-30T05:00:00+00:00"
    assert document["traffic"] == [
        {"atSeconds": 0.0, "greenPercent": 0.0, "bluePercent": 100.0},
        {"atSeconds": 65.0, "greenPercent": 10.0, "bluePercent": 90.0},
        {"atSeconds": 300.0, "greenPercent": 0.0, "bluePercent": 100.0},
    ]
    failed = next(span for span in document["lifecycle"] if span["verdict"] == "failed")
    assert failed == {
        "label": "AllowTraffic",
        "verdict": "failed",
        "startSeconds": 65.0,
        "endSeconds": 300.0,
        "detail": "ALARM_ACTIVE",
        "source": "engine",
    }
    assert document["hooks"][0]["function"] == "bluegreen-dev-after-allow-test-traffic"
    assert [m["kind"] for m in document["marks"]] == [
        "failed",
        "rollback started",
        "ended",
        "rollback completed",
    ]
    assert "path" not in document


@pytest.mark.parametrize("suffix", [".svg", ".html", ".png", ".SVG"])
def test_out_writes_the_picture(gathered: list[str], tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"picture{suffix}"
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", str(out), "-o", "json")
    assert result.code == 0, result.stderr
    assert result.json()["path"] == str(out)
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif suffix == ".html":
        page = data.decode()
        assert re.findall(r"https?://[^\s\"'<>]*", page) == ["http://www.w3.org/2000/svg"]
        element = re.search(r"<svg.*?</svg>", page, re.S)
        assert element is not None
        ET.fromstring(element.group(0))
    else:
        assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_out_says_what_it_wrote(gathered: list[str], tmp_path: Path) -> None:
    out = tmp_path / "t.svg"
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", str(out))
    assert result.stdout == f"wrote {out} (timeline of {DEPLOYMENT_ID}: rolled back)\n"


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (
            "{tmp}/picture.pdf",
            "--out {tmp}/picture.pdf: '.pdf' is not a picture format; use .svg, .png or .html",
        ),
        ("{tmp}/picture", "--out {tmp}/picture: no suffix is not a picture format; use .svg, .png or .html"),
        (
            "{tmp}/missing/picture.svg",
            "--out {tmp}/missing/picture.svg: the folder {tmp}/missing does not exist (create it first)",
        ),
    ],
)
def test_bad_out_is_one_line_exit_2_before_any_aws_call(
    gathered: list[str], tmp_path: Path, out: str, message: str
) -> None:
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", out.format(tmp=tmp_path))
    assert result.code == 2
    assert result.stderr.splitlines() == [f"error: {message.format(tmp=tmp_path)}"]
    assert gathered == [] and not (tmp_path / "missing").exists()


def test_a_directory_at_out_is_refused(gathered: list[str], tmp_path: Path) -> None:
    (tmp_path / "taken.svg").mkdir()
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", str(tmp_path / "taken.svg"))
    assert (
        result.code == 2
        and result.stderr == f"error: cannot write {tmp_path / 'taken.svg'}: it is a directory\n"
    )


def test_not_a_deployment_id_is_exit_2(gathered: list[str]) -> None:
    result = run_cli("timeline", "product-service")
    assert result.code == 2 and result.stderr.startswith(
        "error: 'product-service' is not a CodeDeploy deployment id"
    )
    assert gathered == []


def test_an_unknown_deployment_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def gather(*args: Any) -> Any:
        raise BadInputError(
            "deployment d-NOSUCH123 does not exist in ap-northeast-2 (DeploymentDoesNotExistException)"
        )

    monkeypatch.setattr(command, "gather_evidence", gather)
    result = run_cli("timeline", "d-NOSUCH123", "-o", "json")
    assert result.code == 2 and len(result.stderr.splitlines()) == 1
    assert result.json()["deploymentId"] == "d-NOSUCH123"  # the error document knows the id


def test_without_matplotlib_out_says_which_extra(
    gathered: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as after `pip install bluegreen`
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", str(tmp_path / "t.svg"))
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: timeline --out needs matplotlib (not installed): pip install 'bluegreen[report]' "
        "(from a clone: pip install -e '.[report]')"
    ]
    assert gathered == []
    # the text timeline needs no extra
    assert run_cli("timeline", DEPLOYMENT_ID).code == 0


def test_cli_start_up_and_help_load_no_matplotlib() -> None:
    code = (
        "import sys, contextlib, io; from orchestrator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help']); main(['timeline', '--help'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(done.stdout) == []


def test_the_lambda_package_does_not_get_matplotlib() -> None:
    requirements = (ROOT / "hooks" / "requirements.txt").read_text()
    assert "matplotlib" not in requirements
    code = "import sys, hooks.handlers, orchestrator.insight.timeline; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"


def test_the_readme_shows_the_picture_it_commits() -> None:
    picture = ROOT / "docs" / "timeline-rolled-back-canary.svg"
    assert "](docs/timeline-rolled-back-canary.svg)" in (ROOT / "README.md").read_text()
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(picture.read_text(), parser=parser)
    labels = {node.text.strip() for node in root.iter() if node.tag is ET.Comment and node.text}
    assert {"traffic %", "AllowTraffic", "alarm product-service-5xx-errors", "rollback (11 steps)"} <= labels
    assert "<metadata" not in picture.read_text()  # made with the deterministic settings


def test_out_never_follows_a_link(gathered: list[str], tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    (tmp_path / "picture.png").symlink_to(target)
    result = run_cli("timeline", DEPLOYMENT_ID, "--out", str(tmp_path / "picture.png"))
    assert result.code == 2 and "it is a symbolic link" in result.stderr
    assert target.read_text() == "keep me"
