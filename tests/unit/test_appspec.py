"""AppSpec rendering: golden files for three services in two environments, determinism, validation.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDENS=1 .venv/bin/pytest -q tests/unit/test_appspec.py
and review the diff of tests/fixtures/appspecs/ like any other change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from orchestrator.appspec import (
    TASK_DEFINITION_PLACEHOLDER,
    EcsAppSpecInput,
    appspec_path,
    appspec_revision,
    appspec_sha256,
    ecs_input_for,
    render_ecs_appspec,
    render_lambda_appspec,
)
from orchestrator.catalog import CapacityProvider, Catalog, Network
from orchestrator.errors import AppSpecError

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "appspecs"
UPDATE = os.environ.get("UPDATE_GOLDENS") == "1"
LAMBDA_ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:bluegreen-prod-after-allow-traffic"
ARN = "arn:aws:ecs:ap-northeast-2:210987654321:task-definition/product-service:42"


def _check_golden(name: str, content: str) -> None:
    golden = GOLDEN_DIR / name
    if UPDATE:
        golden.write_text(content, encoding="utf-8")
    assert golden.is_file(), f"{golden} missing; run with UPDATE_GOLDENS=1 to create it"
    assert content == golden.read_text(encoding="utf-8"), f"{name} differs; UPDATE_GOLDENS=1 if intended"


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("service", ["product-service", "payment-service", "auth-service"])
def test_ecs_appspec_matches_golden(real_catalog: Catalog, service: str, environment: str) -> None:
    resolved = real_catalog.resolve(service, environment)
    content = render_ecs_appspec(ecs_input_for(resolved, None))
    _check_golden(f"{service}.{environment}.yaml", content)
    assert appspec_path(Path("/repo"), resolved) == Path(f"/repo/appspecs/{service}.{environment}.yaml")


def test_golden_structure_is_the_aws_ecs_appspec_format(real_catalog: Catalog) -> None:
    content = render_ecs_appspec(ecs_input_for(real_catalog.resolve("product-service", "prod"), ARN))
    document = yaml.safe_load(content)
    assert document["version"] == 0.0
    assert content.startswith("version: 0.0\n")
    [resource] = document["Resources"]
    assert resource["TargetService"]["Type"] == "AWS::ECS::Service"
    properties = resource["TargetService"]["Properties"]
    assert properties == {
        "TaskDefinition": ARN,
        "LoadBalancerInfo": {"ContainerName": "product-service", "ContainerPort": 3003},
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {
            "AwsvpcConfiguration": {
                "Subnets": [
                    "subnet-0prod000000000001",
                    "subnet-0prod000000000002",
                    "subnet-0prod000000000003",
                ],
                "SecurityGroups": ["sg-0prod0000000000001"],
                "AssignPublicIp": "DISABLED",
            }
        },
    }
    assert document["Hooks"] == [
        {"BeforeInstall": "bluegreen-prod-before-install"},
        {"AfterInstall": "bluegreen-prod-after-install"},
        {"AfterAllowTestTraffic": "bluegreen-prod-after-allow-test-traffic"},
        {"BeforeAllowTraffic": "bluegreen-prod-before-allow-traffic"},
        {"AfterAllowTraffic": "bluegreen-prod-after-allow-traffic"},
    ]


def test_rendering_with_an_arn_changes_only_the_task_definition(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "prod")
    placeholder = render_ecs_appspec(ecs_input_for(service, None))
    with_arn = render_ecs_appspec(ecs_input_for(service, ARN))
    assert f"TaskDefinition: {TASK_DEFINITION_PLACEHOLDER}\n" in placeholder
    assert with_arn == placeholder.replace(TASK_DEFINITION_PLACEHOLDER, ARN)


def _spec(**overrides: Any) -> EcsAppSpecInput:
    values: dict[str, Any] = {
        "task_definition_arn": ARN,
        "container_name": "checkout-service",
        "container_port": 4002,
        "platform_version": "1.4.0",
        "network": Network(subnets=["subnet-a"], security_groups=["sg-a"], assign_public_ip="ENABLED"),
        "capacity_provider_strategy": [
            CapacityProvider(capacity_provider="FARGATE", weight=1, base=1),
            CapacityProvider(capacity_provider="FARGATE_SPOT", weight=3),
        ],
        "hooks": {
            "AfterAllowTraffic": "bake",
            "BeforeInstall": "arn:aws:lambda:ap-northeast-2:1:function:gate",
        },
    }
    values.update(overrides)
    return EcsAppSpecInput(**values)


def test_capacity_provider_strategy_golden() -> None:
    content = render_ecs_appspec(_spec())
    _check_golden("capacity-providers.yaml", content)
    properties = yaml.safe_load(content)["Resources"][0]["TargetService"]["Properties"]
    assert properties["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    # Hooks come out in CodeDeploy's lifecycle order whatever the mapping's order.
    assert [next(iter(hook)) for hook in yaml.safe_load(content)["Hooks"]] == [
        "BeforeInstall",
        "AfterAllowTraffic",
    ]


def test_capacity_provider_strategy_from_the_catalog(good_catalog: Catalog) -> None:
    spec = ecs_input_for(good_catalog.resolve("checkout-service", "prod"), ARN)
    assert [entry.capacity_provider for entry in spec.capacity_provider_strategy] == [
        "FARGATE",
        "FARGATE_SPOT",
    ]
    assert "CapacityProviderStrategy:" in render_ecs_appspec(spec)
    assert "CapacityProviderStrategy" not in render_ecs_appspec(
        ecs_input_for(good_catalog.resolve("cart-service", "prod"), ARN)
    )


@pytest.mark.parametrize(
    ("overrides", "absent"),
    [
        ({"platform_version": None}, "PlatformVersion"),
        ({"network": None}, "NetworkConfiguration"),
        ({"network": Network(subnets=["subnet-a"])}, "SecurityGroups"),
        ({"capacity_provider_strategy": []}, "CapacityProviderStrategy"),
        ({"hooks": {}}, "Hooks"),
    ],
)
def test_optional_sections_are_left_out_when_unset(overrides: dict[str, Any], absent: str) -> None:
    assert absent not in render_ecs_appspec(_spec(**overrides))


def test_lambda_appspec_golden() -> None:
    content = render_lambda_appspec(
        LAMBDA_ARN,
        "live",
        "7",
        "8",
        {
            "AfterAllowTraffic": "bluegreen-prod-lambda-bake",
            "BeforeAllowTraffic": "bluegreen-prod-lambda-gate",
        },
    )
    _check_golden("lambda.yaml", content)
    [resource] = yaml.safe_load(content)["Resources"]
    assert resource == {
        "bluegreen-prod-after-allow-traffic": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Name": LAMBDA_ARN,
                "Alias": "live",
                "CurrentVersion": "7",
                "TargetVersion": "8",
            },
        }
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"container_port": 0}, "container port must be 1..65535, got 0"),
        ({"container_port": 70000}, "container port must be 1..65535, got 70000"),
        ({"container_name": " "}, "container name is empty"),
        ({"task_definition_arn": ""}, "task definition ARN is empty"),
        ({"hooks": {"AfterTraffic": "f"}}, "unknown lifecycle event(s) AfterTraffic"),
        ({"hooks": {"BeforeInstall": ""}}, "hook BeforeInstall has an empty function name"),
        ({"network": Network(subnets=[])}, "needs at least one subnet"),
    ],
)
def test_bad_ecs_input_is_an_appspec_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(AppSpecError) as raised:
        render_ecs_appspec(_spec(**overrides))
    assert message in str(raised.value)
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fn", "live", "$LATEST", "2", {}), "current version must be a positive integer"),
        (("fn", "live", "1", "0", {}), "target version must be a positive integer"),
        (("fn", "live", "3", "3", {}), "current and target version are both 3"),
        (("fn", "", "1", "2", {}), "function name and alias are required"),
        (("fn", "live", "1", "2", {"AfterInstall": "x"}), "valid: BeforeAllowTraffic, AfterAllowTraffic"),
    ],
)
def test_bad_lambda_input_is_an_appspec_error(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(AppSpecError, match=message.replace("$", r"\$")):
        render_lambda_appspec(*args)


def test_same_input_same_bytes_in_process(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("payment-service", "prod")
    first = render_ecs_appspec(ecs_input_for(service, ARN))
    # The same values built in a different order render the same bytes.
    spec = ecs_input_for(service, ARN)
    reordered = EcsAppSpecInput(
        hooks=dict(reversed(list(spec.hooks.items()))),
        capacity_provider_strategy=spec.capacity_provider_strategy,
        network=spec.network,
        platform_version=spec.platform_version,
        container_port=spec.container_port,
        container_name=spec.container_name,
        task_definition_arn=spec.task_definition_arn,
    )
    assert render_ecs_appspec(reordered) == first
    assert appspec_sha256(render_ecs_appspec(spec)) == appspec_sha256(first)


def test_same_input_same_bytes_across_processes(repo_root: Path) -> None:
    script = (
        "from orchestrator.catalog import load_catalog;"
        "from orchestrator.appspec import ecs_input_for, render_ecs_appspec, appspec_sha256;"
        "c = load_catalog('services.yaml');"
        "specs = [ecs_input_for(s, None) for s in c.resolve_all('prod')];"
        "print(''.join(appspec_sha256(render_ecs_appspec(spec)) for spec in specs))"
    )
    digests = set()
    for seed in ("0", "12345"):  # different hash seeds: no dict/set ordering may leak into the bytes
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=repo_root, env=env, capture_output=True, text=True, check=True
        )
        digests.add(result.stdout)
    assert len(digests) == 1


def test_revision_carries_content_and_sha256() -> None:
    content = render_ecs_appspec(_spec())
    revision = appspec_revision(content)
    assert revision == {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": appspec_sha256(content)},
    }
    assert len(revision["appSpecContent"]["sha256"]) == 64
    model = botocore.session.get_session().get_service_model("codedeploy")
    params = {
        "applicationName": "doa-market-prod",
        "deploymentGroupName": "checkout-service",
        "revision": revision,
    }
    report = ParamValidator().validate(params, model.operation_model("CreateDeployment").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_sha256_is_of_the_utf8_bytes() -> None:
    # Known digest of the empty string and of a non-ASCII text, so the encoding cannot drift.
    assert appspec_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert appspec_sha256("é") != appspec_sha256("e")


@pytest.mark.parametrize("golden", ["product-service.prod.yaml", "capacity-providers.yaml"])
def test_the_codedeploy_emulator_reads_our_ecs_appspec(golden: str) -> None:
    """Contract with sandbox/codedeploy: what we render is what the emulator (like CodeDeploy) reads."""
    emulator = pytest.importorskip("sandbox.codedeploy.appspec")
    content = (GOLDEN_DIR / golden).read_text(encoding="utf-8")
    parsed = emulator.parse_appspec(content, "ECS")
    properties = yaml.safe_load(content)["Resources"][0]["TargetService"]["Properties"]
    assert parsed.ecs.task_definition == properties["TaskDefinition"]
    assert parsed.ecs.container_port == properties["LoadBalancerInfo"]["ContainerPort"]
    assert parsed.ecs.network_configuration == properties["NetworkConfiguration"]
    assert parsed.ecs.capacity_provider_strategy == properties.get("CapacityProviderStrategy")
    assert list(parsed.hooks) == [next(iter(hook)) for hook in yaml.safe_load(content)["Hooks"]]
    assert emulator.sha256_of(content) == appspec_sha256(content)


def test_the_codedeploy_emulator_reads_our_lambda_appspec() -> None:
    emulator = pytest.importorskip("sandbox.codedeploy.appspec")
    parsed = emulator.parse_appspec((GOLDEN_DIR / "lambda.yaml").read_text(encoding="utf-8"), "Lambda")
    assert (parsed.function.alias, parsed.function.current_version, parsed.function.target_version) == (
        "live",
        "7",
        "8",
    )
    assert list(parsed.hooks) == ["BeforeAllowTraffic", "AfterAllowTraffic"]
