"""Analysis settings in the catalog (`analysis:` at any layer): the example resolves; every bad
value is one CatalogError line (exit 2) naming the file, the layer and the field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from orchestrator.analysis.settings import BUILTIN_METRICS, AnalysisSettings
from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import CatalogError


def _write(tmp_path: Path, fixtures_dir: Path, service_analysis: object, defaults: object = None) -> Path:
    data = yaml.safe_load((fixtures_dir / "catalogs" / "good.yaml").read_text(encoding="utf-8"))
    data["defaults"]["task_definition"] = str((fixtures_dir / "taskdefs" / "good.json").resolve())
    data["services"]["cart-service"]["analysis"] = service_analysis
    if defaults is not None:
        data["defaults"]["analysis"] = defaults
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_example_catalog_enables_analysis_for_product_service(real_catalog: Catalog) -> None:
    analysis = real_catalog.resolve("product-service", "prod").settings.analysis
    assert analysis.enabled
    assert set(analysis.metrics) == {"5xx_rate", "p99_latency", "p50_latency"}
    assert sum(metric.weight for metric in analysis.metrics.values()) == 100
    assert analysis.metrics["5xx_rate"].critical
    assert not real_catalog.resolve("order-service", "prod").settings.analysis.enabled


def test_defaults_are_valid_and_follow_kayenta() -> None:
    settings = AnalysisSettings()
    assert (settings.enabled, settings.pass_score, settings.marginal_score) == (False, 95, 75)
    assert sum(metric.weight for metric in settings.metrics.values()) == 100
    assert set(settings.metrics) <= set(BUILTIN_METRICS)


def test_a_catalog_defined_metric_with_per_side_dimensions(fixtures_dir: Path, tmp_path: Path) -> None:
    custom = {
        "namespace": "shop/Checkout",
        "metric": "PaymentErrors",
        "statistic": "Sum",
        "dimensions": {"TargetGroup": "{target_group}"},
        "weight": 40,
    }
    path = _write(
        tmp_path,
        fixtures_dir,
        {"enabled": True, "metrics": {"payment_errors": custom, "5xx_rate": {"weight": 60}}},
    )
    metric = load_catalog(path).resolve("cart-service", "prod").settings.analysis.metrics["payment_errors"]
    assert (metric.namespace, metric.metric, metric.statistic) == ("shop/Checkout", "PaymentErrors", "Sum")
    assert metric.dimensions == {"TargetGroup": "{target_group}"}


BAD = [
    pytest.param(
        {"metrics": {"p99_latncy": {"weight": 100}}},
        [
            "services.cart-service",
            "field analysis.metrics",
            "unknown metric 'p99_latncy'",
            "did you mean p99_latency?",
        ],
        id="unknown-metric",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 60}, "p99_latency": {"weight": 30}}},
        ["field analysis", "metric weights add up to 90 (5xx_rate 60, p99_latency 30)", "must add up to 100"],
        id="weights-90",
    ),
    pytest.param(
        {"pass_score": 120},
        ["field analysis.pass_score", "less than or equal to 100", "got 120"],
        id="pass-out-of-range",
    ),
    pytest.param(
        {"marginal_score": 97},
        ["field analysis", "marginal_score 97 is above pass_score 95"],
        id="marginal-above-pass",
    ),
    pytest.param(
        {"confidence": 1.5},
        ["field analysis.confidence", "less than 1"],
        id="confidence-out-of-range",
    ),
    pytest.param(
        {"sample_period_seconds": 45},
        ["field analysis.sample_period_seconds", "1, 5, 10, 20, 30 or a multiple of 60"],
        id="period-not-cloudwatch",
    ),
    pytest.param(
        {"min_samples": 1},
        ["field analysis.min_samples", "greater than or equal to 2"],
        id="one-sample",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 100, "namespace": "X"}}},
        ["field analysis.metrics", "5xx_rate is built in"],
        id="builtin-redefined",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 100, "direction": "up"}}},
        ["field analysis.metrics.5xx_rate.direction", "'increase', 'decrease' or 'either'"],
        id="bad-direction",
    ),
    pytest.param(
        {
            "metrics": {
                "cpu": {
                    "weight": 100,
                    "namespace": "AWS/ECS",
                    "metric": "CPUUtilization",
                    "statistic": "avg",
                    "dimensions": {"TargetGroup": "{target_group}"},
                }
            }
        },
        ["field analysis.metrics.cpu.statistic", "unknown statistic 'avg'"],
        id="bad-statistic",
    ),
    pytest.param(
        {
            "metrics": {
                "cpu": {"weight": 100, "namespace": "AWS/ECS", "metric": "CPUUtil", "statistic": "Average"}
            }
        },
        ["field analysis.metrics", "cpu: one of its dimensions must be '{target_group}'"],
        id="custom-without-side",
    ),
    pytest.param(
        {"enabeld": True}, ["field analysis.enabeld", "unknown setting (did you mean enabled?)"], id="typo"
    ),
    # Rows added by breaker14: each fails on a hand mutation of settings.py that no row caught.
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 50}, "p99_latency": {"weight": 49.5}}},
        ["field analysis", "metric weights add up to 99.5"],
        id="weights-99.5",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 150}, "p99_latency": {"weight": -50}}},
        ["field analysis.metrics.5xx_rate.weight", "less than or equal to 100"],
        id="weights-100-from-out-of-range",
    ),
    pytest.param({"metrics": {}}, ["field analysis", "metrics: name at least one metric"], id="no-metrics"),
    pytest.param(
        {"marginal_score": -5},
        ["field analysis.marginal_score", "greater than or equal to 0"],
        id="marginal-out-of-range",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 100, "tolerance": -0.1}}},
        ["field analysis.metrics.5xx_rate.tolerance", "greater than or equal to 0"],
        id="negative-tolerance",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 100, "tolerance": math.inf}}},
        ["field analysis.metrics.5xx_rate.tolerance", "finite number"],
        id="infinite-tolerance",
    ),
    pytest.param(
        {"metrics": {"5xx_rate": {"weight": 100, "min_delta": math.inf}}},
        ["field analysis.metrics.5xx_rate.min_delta", "finite number"],
        id="infinite-min-delta",
    ),
    pytest.param(
        {
            "metrics": {
                "cpu": {
                    "weight": 100,
                    "namespace": "AWS/ECS",
                    "metric": "CPUUtilization",
                    "dimensions": {"TargetGroup": "{target_group}"},
                }
            }
        },
        ["field analysis.metrics", "unknown metric 'cpu'", "or give namespace, metric and statistic"],
        id="custom-without-statistic",
    ),
    pytest.param(
        {
            "metrics": {
                "requests": {
                    "weight": 100,
                    "namespace": "A",
                    "metric": "B",
                    "statistic": "Sum",
                    "dimensions": {"TargetGroup": "{target_group}"},
                }
            }
        },
        ["field analysis.metrics", "'requests' is the judge's own request count"],
        id="requests-is-reserved",
    ),
]


@pytest.mark.parametrize(("analysis", "names"), BAD)
def test_bad_analysis_settings_are_one_line_naming_the_field(
    fixtures_dir: Path, tmp_path: Path, analysis: dict[str, object], names: list[str]
) -> None:
    with pytest.raises(CatalogError) as raised:
        load_catalog(_write(tmp_path, fixtures_dir, analysis))
    message = str(raised.value)
    assert "\n" not in message
    assert raised.value.exit_code == 2
    for name in ["services.yaml", *names]:
        assert name in message, message


def test_a_bad_metric_in_the_defaults_layer_is_found_even_when_every_service_overrides_it(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        fixtures_dir,
        {"metrics": {"5xx_rate": {"weight": 100}}},
        defaults={"metrics": {"p42": {"weight": 1}}},
    )
    with pytest.raises(CatalogError, match=r"defaults: field analysis\.metrics: unknown metric 'p42'"):
        load_catalog(path)
