"""List* operations page as AWS pages them: 100 items a page, opaque nextTokens that resume after the
last item, InvalidNextTokenException for anything else; botocore's paginators and the AWS CLI walk
every page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from sandbox.codedeploy import CodeDeployEmulator, paging
from sandbox.codedeploy.errors import ApiError
from sandbox.codedeploy.model import Deployment, DeploymentStatus, new_deployment_id
from tests.support.emulator import REGION, client, raw_call, validate_output

ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"


# --- the pager (pure) --------------------------------------------------------------------------------


def _walk(keyed: list[tuple[paging.SortKey, str]], scope: dict[str, Any], size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        items, token = paging.page(keyed, token, scope, size)
        pages.append(items)
        if token is None:
            return pages


@pytest.mark.parametrize(
    ("count", "size", "page_lengths"),
    [(0, 100, [0]), (1, 100, [1]), (100, 100, [100]), (101, 100, [100, 1]), (250, 100, [100, 100, 50])],
)
def test_pages_cover_every_item_once(count: int, size: int, page_lengths: list[int]) -> None:
    names = [f"app-{i:03d}" for i in range(count)]
    pages = _walk(paging.by_name(names), {"op": "ListApplications"}, size)
    assert [len(p) for p in pages] == page_lengths
    assert [name for p in pages for name in p] == sorted(names)


def test_a_token_resumes_after_its_last_item_whatever_changed() -> None:
    scope = {"op": "ListApplications"}
    names = [f"app-{i:03d}" for i in range(10)]
    first, token = paging.page(paging.by_name(names), None, scope, 4)
    assert first == names[:4]
    changed = [n for n in names if n not in ("app-003", "app-005")] + ["app-000a", "app-009a"]
    rest, token = paging.page(paging.by_name(changed), token, scope, 100)
    assert token is None
    assert rest == ["app-004", "app-006", "app-007", "app-008", "app-009", "app-009a"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "1",
        "",  # falsy: treated as absent, the first page (botocore never sends it)
        "eyJ9",  # base64 of '{"}'
        "eyJwIjogIntcImFmdGVyXCI6IFtcImFwcC0wMDBcIl19IiwgInMiOiAiMDAifQ==",  # unsigned payload
        "%%%",
        "a" * 5000,
    ],
)
def test_tokens_not_issued_here_are_invalid(token: str) -> None:
    keyed = paging.by_name(["a", "b", "c"])
    if not token:
        assert paging.page(keyed, token, {"op": "ListApplications"}, 2)[0] == ["a", "b"]
        return
    with pytest.raises(ApiError) as caught:
        paging.page(keyed, token, {"op": "ListApplications"}, 2)
    assert caught.value.code == "InvalidNextTokenException"


def test_a_token_is_only_valid_for_the_request_it_came_from() -> None:
    keyed = paging.by_name(["a", "b", "c"])
    _, token = paging.page(keyed, None, {"op": "ListDeploymentGroups", "applicationName": "x"}, 2)
    assert token is not None
    for scope in ({"op": "ListDeploymentGroups", "applicationName": "y"}, {"op": "ListApplications"}):
        with pytest.raises(ApiError):
            paging.page(keyed, token, scope, 2)


# --- over the wire -----------------------------------------------------------------------------------


def _create_applications(url: str, count: int) -> list[str]:
    names = [f"paged-app-{i:04d}" for i in range(count)]
    for name in names:
        assert (
            raw_call(url, "CreateApplication", {"applicationName": name, "computePlatform": "Server"})[0]
            == 200
        )
    return names


def _paginate(url: str, operation: str, result_key: str, **params: Any) -> list[list[str]]:
    """Every page botocore's paginator (paginators-1.json) fetches."""
    codedeploy = client("codedeploy", url)
    pages = []
    for page in codedeploy.get_paginator(xform_name(operation)).paginate(**params):
        page.pop("ResponseMetadata", None)
        pages.append(page[result_key])
    return pages


def _seed_deployments(emulator: CodeDeployEmulator, app: str, group: str, count: int) -> list[str]:
    """Finished deployment records straight into the store (250 real ones would take minutes)."""
    ids = []
    with emulator.store.lock:
        for i in range(count):
            dep = Deployment(
                id=new_deployment_id(),
                application_name=app,
                group_name=group,
                config_name="CodeDeployDefault.OneAtATime",
                compute_platform="Server",
                revision={},
                creator="user",
                create_time=1_700_000_000.0 + i // 3,  # ties: the id orders them
                group_snapshot={},
                status=DeploymentStatus.SUCCEEDED if i % 2 else DeploymentStatus.FAILED,
            )
            emulator.store.deployments[dep.id] = dep
            ids.append(dep.id)
    return ids


@pytest.mark.integration
def test_botocore_paginators_walk_every_page(emulator: CodeDeployEmulator) -> None:
    url = emulator.url
    apps = _create_applications(url, 150)
    first = raw_call(url, "ListApplications", {})[1]
    assert len(first["applications"]) == paging.PAGE_SIZE and first["nextToken"]
    assert validate_output("ListApplications", first) == []
    pages = _paginate(url, "ListApplications", "applications")
    assert [len(p) for p in pages] == [100, 50]
    assert [a for p in pages for a in p] == apps

    groups = [f"g-{i:03d}" for i in range(120)]
    for name in groups:
        request = {"applicationName": apps[0], "deploymentGroupName": name, "serviceRoleArn": ROLE}
        assert raw_call(url, "CreateDeploymentGroup", request)[0] == 200
    pages = _paginate(url, "ListDeploymentGroups", "deploymentGroups", applicationName=apps[0])
    assert [g for p in pages for g in p] == groups and len(pages) == 2

    for i in range(100):
        request = {
            "deploymentConfigName": f"Custom{i:03d}",
            "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1},
        }
        assert raw_call(url, "CreateDeploymentConfig", request)[0] == 200
    pages = _paginate(url, "ListDeploymentConfigs", "deploymentConfigsList")
    configs = [c for p in pages for c in p]
    assert len(pages) == 2 and sorted(configs) == sorted(emulator.store.configs) and len(configs) == 117

    seeded = _seed_deployments(emulator, apps[0], groups[0], 250)
    pages = _paginate(
        url, "ListDeployments", "deployments", applicationName=apps[0], deploymentGroupName=groups[0]
    )
    assert [len(p) for p in pages] == [100, 100, 50]
    assert sorted(d for p in pages for d in p) == sorted(seeded)
    failed = _paginate(
        url,
        "ListDeployments",
        "deployments",
        applicationName=apps[0],
        deploymentGroupName=groups[0],
        includeOnlyStatuses=["Failed"],
    )
    assert [len(p) for p in failed] == [100, 25]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("ListApplications", {}),
        ("ListDeploymentConfigs", {}),
        ("ListDeploymentGroups", {"applicationName": "paged-app-0000"}),
        ("ListDeployments", {}),
    ],
)
def test_garbage_next_tokens_are_invalid(
    emulator: CodeDeployEmulator, operation: str, params: dict[str, Any]
) -> None:
    _create_applications(emulator.url, 1)
    for token in ("garbage", "100", "eyJ9"):
        status, body = raw_call(emulator.url, operation, {**params, "nextToken": token})
        assert (status, body["__type"]) == (400, "InvalidNextTokenException"), body


@pytest.mark.integration
def test_a_token_does_not_carry_over_to_other_filters(emulator: CodeDeployEmulator) -> None:
    apps = _create_applications(emulator.url, 101)
    token = raw_call(emulator.url, "ListApplications", {})[1]["nextToken"]
    status, body = raw_call(
        emulator.url, "ListDeploymentGroups", {"applicationName": apps[0], "nextToken": token}
    )
    assert (status, body["__type"]) == (400, "InvalidNextTokenException")


@pytest.mark.integration
def test_the_aws_cli_pages_through_everything(emulator: CodeDeployEmulator, tmp_path: Path) -> None:
    apps = _create_applications(emulator.url, 230)
    aws = Path(sys.executable).parent / "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }

    def cli(*extra: str) -> dict[str, Any]:
        command = [
            str(aws),
            "deploy",
            "list-applications",
            "--endpoint-url",
            emulator.url,
            "--output",
            "json",
        ]
        done = subprocess.run(
            command + list(extra), capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    one_page = cli("--no-paginate")
    assert len(one_page["applications"]) == 100 and one_page["nextToken"]
    assert cli()["applications"] == apps  # the CLI follows nextToken to the end
