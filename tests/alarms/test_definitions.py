"""Alarm definitions: loading, layering, rendering, and one-line errors naming file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.alarms.definitions import (
    ServiceResources,
    alarm_diff,
    load_definitions,
    normalize_alarm,
    render_request,
)
from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import AlarmDefinitionError, BadInputError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alarms"
RESOURCES = ServiceResources("targetgroup/b/1", "targetgroup/g/2", "app/alb/3")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def alarms_dir_with(tmp_path: Path, repo_root: Path, *fixtures: str) -> Path:
    """The repository's templates.yaml and verdict.yaml plus the named fixture files."""
    directory = tmp_path / "alarms"
    directory.mkdir()
    for name in ("templates.yaml", "verdict.yaml"):
        shutil.copy(repo_root / "alarms" / name, directory / name)
    for name in fixtures:
        shutil.copy(FIXTURES / name, directory / name)
    return directory


def test_every_catalog_service_gets_exactly_the_alarms_the_catalog_lists(catalog: Catalog) -> None:
    definitions = load_definitions(catalog)
    for environment in catalog.environments:
        for service in catalog.resolve_all(environment):
            assert [a.name for a in definitions.for_service(service)] == [
                f"{service.name}-5xx-errors",
                f"{service.name}-high-latency",
                f"{service.name}-unhealthy-hosts",
                f"{service.name}-high-cpu",
                # the canary judge's verdict, where alarms/verdict.yaml enables it (product-service)
                *([f"{service.name}-canary-verdict"] if service.name == "product-service" else []),
            ]
            assert sorted(a.name for a in definitions.for_service(service)) == sorted(service.settings.alarms)


@pytest.mark.parametrize(
    ("service", "environment", "kind", "threshold", "evaluation_periods"),
    [
        ("order-service", "dev", "5xx-errors", 5.0, 2),  # template
        ("order-service", "prod", "5xx-errors", 2.0, 2),  # environment layer
        ("payment-service", "dev", "5xx-errors", 1.0, 2),  # service layer
        ("payment-service", "prod", "5xx-errors", 0.5, 2),  # service's environment layer wins
        ("file-service", "dev", "high-latency", 3.0, 5),
        ("order-service", "prod", "high-cpu", 80.0, 2),
    ],
)
def test_layers(
    catalog: Catalog, service: str, environment: str, kind: str, threshold: float, evaluation_periods: int
) -> None:
    alarm = next(
        a
        for a in load_definitions(catalog).for_service(catalog.resolve(service, environment))
        if a.kind == kind
    )
    assert (alarm.spec.threshold, alarm.spec.evaluation_periods) == (threshold, evaluation_periods)


def test_prod_alarms_notify_and_dev_alarms_do_not(catalog: Catalog) -> None:
    definitions = load_definitions(catalog)
    prod = catalog.resolve("order-service", "prod")
    dev = catalog.resolve("order-service", "dev")
    prod_request = render_request(definitions.for_service(prod)[0], prod, RESOURCES)
    dev_request = render_request(definitions.for_service(dev)[0], dev, RESOURCES)
    assert prod_request["AlarmActions"] == ["arn:aws:sns:ap-northeast-2:210987654321:doa-market-prod-alarms"]
    assert dev_request["AlarmActions"] == []


def test_the_error_rate_alarm_watches_both_target_groups_with_metric_math(catalog: Catalog) -> None:
    service = catalog.resolve("product-service", "dev")
    alarm = load_definitions(catalog).for_service(service)[0]
    request = render_request(alarm, service, RESOURCES)
    assert "MetricName" not in request and "Period" not in request
    queries = {q["Id"]: q for q in request["Metrics"]}
    assert queries["result"] == {
        "Id": "result",
        "Expression": "MAX([FILL(e_blue, 0) / FILL(r_blue, 1), FILL(e_green, 0) / FILL(r_green, 1)]) * 100",
        "Label": "5xx rate of the worst target group (%)",
        "ReturnData": True,
    }
    assert queries["e_green"]["MetricStat"] == {
        "Metric": {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "HTTPCode_Target_5XX_Count",
            "Dimensions": [
                {"Name": "LoadBalancer", "Value": "app/alb/3"},
                {"Name": "TargetGroup", "Value": "targetgroup/g/2"},
            ],
        },
        "Period": 60,
        "Stat": "Sum",
    }
    assert queries["r_blue"]["ReturnData"] is False


def test_percentile_statistics_render_as_extended_statistic_on_single_metric_alarms(
    catalog: Catalog, tmp_path: Path, repo_root: Path
) -> None:
    directory = alarms_dir_with(tmp_path, repo_root)
    text = (directory / "templates.yaml").read_text().replace("stat: Average", "stat: p90")
    (directory / "templates.yaml").write_text(text)
    service = catalog.resolve("order-service", "dev")
    cpu = load_definitions(catalog, directory).for_service(service)[3]
    request = render_request(cpu, service)
    assert request["ExtendedStatistic"] == "p90" and "Statistic" not in request


def test_a_rendered_request_equals_itself_as_described_with_aws_defaults(catalog: Catalog) -> None:
    service = catalog.resolve("order-service", "dev")
    request = render_request(load_definitions(catalog).for_service(service)[3], service)
    described = {**request, "StateValue": "OK", "Metrics": [], "OKActions": [], "Threshold": 80}
    assert alarm_diff(described, request) == []
    assert normalize_alarm(described) == normalize_alarm(request)
    assert [str(c) for c in alarm_diff({**described, "Threshold": 90.0}, request)] == [
        "Threshold: 90.0 -> 80.0"
    ]
    assert {"Threshold", "MetricName", "Dimensions.ClusterName"} <= {
        c.path for c in alarm_diff(None, request)
    }


def test_disabling_a_kind_for_a_service_must_be_reflected_in_the_catalog(
    catalog: Catalog, tmp_path: Path, repo_root: Path
) -> None:
    directory = alarms_dir_with(tmp_path, repo_root, "disable-cpu-for-stats.yaml")
    with pytest.raises(AlarmDefinitionError) as err:
        load_definitions(catalog, directory)
    assert str(err.value) == (
        "services.yaml: services.stats-service (dev): field alarms: ['stats-service-high-cpu'] have no "
        "definition under alarms/ (defined: ['stats-service-5xx-errors', 'stats-service-high-latency', "
        "'stats-service-unhealthy-hosts'])"
    )


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "malformed.yaml",
            "alarms/malformed.yaml: expected ',' or '}', but got '<stream end>' at line 6, column 1",
        ),
        (
            "unknown-metric-field.yaml",
            "alarms/unknown-metric-field.yaml: field templates.queue-depth.metric.metric_nmae: unknown field "
            "(and 1 more)",
        ),
        (
            "unknown-service.yaml",
            "alarms/unknown-service.yaml: field services.basket-service: no such service in services.yaml "
            "(defined: admin-service, auth-service, coupon-service, file-service, inventory-service, "
            "notification-service, order-service, payment-service, product-service, review-service, "
            "search-service, seller-service, settlement-service, shipping-service, stats-service, "
            "user-service)",
        ),
        (
            "unknown-kind.yaml",
            "alarms/unknown-kind.yaml: field environments.prod.alarms.5xx-rate: no template of that kind "
            "(templates: 5xx-errors, high-latency, unhealthy-hosts, high-cpu, canary-verdict)",
        ),
        (
            "unknown-environment.yaml",
            "alarms/unknown-environment.yaml: field services.order-service.environments.staging: "
            "no such environment (defined: dev, prod)",
        ),
        (
            "bad-expression.yaml",
            "alarms/bad-expression.yaml: field templates.error-budget: Value error, expression: "
            "unknown metric id or function 'ABS'",
        ),
        (
            "extra-template.yaml",
            "services.yaml: services.auth-service (dev): field alarms: does not list "
            "['auth-service-queue-depth'], defined under alarms/; "
            "list them or disable them with enabled: false",
        ),
        (
            "bad-threshold-type.yaml",
            "alarms/bad-threshold-type.yaml: field services.order-service.alarms.high-cpu.threshold: "
            "Input should be a valid number, unable to parse string as a number",
        ),
    ],
)
def test_bad_alarm_files_fail_with_one_line_naming_file_and_field(
    catalog: Catalog, tmp_path: Path, repo_root: Path, fixture: str, message: str
) -> None:
    directory = alarms_dir_with(tmp_path, repo_root, fixture)
    with pytest.raises(AlarmDefinitionError) as err:
        load_definitions(catalog, directory)
    assert str(err.value) == message
    assert "\n" not in str(err.value)
    assert isinstance(err.value, BadInputError) and err.value.exit_code == 2


def test_a_missing_directory_says_where_it_looked(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(AlarmDefinitionError, match=r"alarm definitions directory .*nowhere not found"):
        load_definitions(catalog, tmp_path / "nowhere")


def test_a_template_defined_twice_names_both_files(catalog: Catalog, tmp_path: Path, repo_root: Path) -> None:
    directory = alarms_dir_with(tmp_path, repo_root)
    shutil.copy(directory / "templates.yaml", directory / "copy.yaml")
    with pytest.raises(AlarmDefinitionError) as err:
        load_definitions(catalog, directory)
    assert (
        str(err.value)
        == "alarms/templates.yaml: field templates.5xx-errors: already defined in alarms/copy.yaml"
    )


def test_a_service_with_analysis_enabled_must_list_its_verdict_alarm(tmp_path: Path, repo_root: Path) -> None:
    # The verdict alarm is the engine's backstop when the analysis function cannot stop a canary.
    text = (repo_root / "services.yaml").read_text(encoding="utf-8")
    marker = "  order-service:\n"
    (tmp_path / "services.yaml").write_text(
        text.replace(marker, marker + "    analysis: {enabled: true}\n"), encoding="utf-8"
    )
    shutil.copytree(repo_root / "task-definitions", tmp_path / "task-definitions")
    catalog = load_catalog(tmp_path / "services.yaml")

    with pytest.raises(AlarmDefinitionError) as err:
        load_definitions(catalog, alarms_dir_with(tmp_path, repo_root))

    assert str(err.value) == (
        "services.yaml: services.order-service (dev): field alarms: analysis is enabled but "
        "order-service-canary-verdict is not one of its alarms: enable canary-verdict for order-service "
        "under alarms/ and list it, so the engine stops a canary the judge failed even when the analysis "
        "function cannot"
    )
