"""sandbox/template_file.py: CloudFormation short tags read as plain values, one parse per file version."""

from __future__ import annotations

from pathlib import Path

from sandbox.template_file import load_template


def test_short_tags_read_as_the_values_under_them(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  F:\n    Properties:\n      Name: !Sub '${Project}-f'\n      Arn: !GetAtt [F, Arn]\n"
    )
    properties = load_template(template)["Resources"]["F"]["Properties"]
    assert properties == {"Name": "${Project}-f", "Arn": ["F", "Arn"]}


def test_a_changed_file_is_read_again_and_a_callers_change_stays_its_own(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Parameters: {A: 1}\n")
    first = load_template(template)
    first["Parameters"]["A"] = 99  # a caller's edit must not reach the next caller
    assert load_template(template) == {"Parameters": {"A": 1}}
    template.write_text("Parameters: {A: 1, B: 2}\n")
    assert load_template(template) == {"Parameters": {"A": 1, "B": 2}}


def test_an_empty_file_is_an_empty_document(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("")
    assert load_template(template) == {}
