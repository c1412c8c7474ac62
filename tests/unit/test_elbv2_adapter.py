"""The ELBv2 adapter's decisions (orchestrator.aws.elbv2) on FakeElbv2: names read 20 a call, a missing
name found without failing the others, a listener's forward weights; and errors that are not
"not found" still fail."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.errors import AwsError
from tests.support.fakes import ELB_ARN, FakeElbv2, client_error


def with_target_groups(count: int) -> tuple[FakeElbv2, list[str]]:
    fake = FakeElbv2()
    names = [f"svc-{i:02d}-green" for i in range(count)]
    for name in names:
        fake.add_target_group(name)
    return fake, names


@pytest.mark.parametrize(("count", "calls"), [(1, 1), (20, 1), (21, 2), (45, 3)])
def test_target_groups_are_read_20_names_a_call(count: int, calls: int) -> None:
    fake, names = with_target_groups(count)

    found = elbv2_api.target_group_arns(fake, [*names, *names[:3]])  # duplicates asked for once

    assert found == fake.target_groups
    assert fake.counter.calls["elastic-load-balancing-v2:DescribeTargetGroups"] == calls


def test_a_missing_name_is_left_out_and_only_its_batch_is_asked_again_name_by_name() -> None:
    fake, names = with_target_groups(25)  # batches: 20 names, then 5 + the missing one

    found = elbv2_api.target_group_arns(fake, [*names, "svc-zz-gone"])

    assert found == fake.target_groups
    # the first batch answers; the second fails as a whole (TargetGroupNotFound), then 6 single calls
    assert fake.counter.calls["elastic-load-balancing-v2:DescribeTargetGroups"] == 1 + 1 + 6


def test_other_errors_are_aws_errors_naming_the_call() -> None:
    fake, names = with_target_groups(2)

    def denied(**_: Any) -> dict[str, Any]:
        raise client_error("DescribeTargetGroups", "AccessDenied", "not allowed", 403)

    fake.describe_target_groups = denied  # type: ignore[method-assign]
    with pytest.raises(AwsError, match=r"^ELBv2 DescribeTargetGroups: access denied"):
        elbv2_api.target_group_arns(fake, names)


BLUE, GREEN = f"{ELB_ARN}:targetgroup/svc-blue/1", f"{ELB_ARN}:targetgroup/svc-green/2"


@pytest.mark.parametrize(
    ("actions", "weights"),
    [
        (
            [
                {
                    "Type": "forward",
                    "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": BLUE, "Weight": 90}]},
                }
            ],
            {BLUE: 90},
        ),
        (  # a weight left out counts as 1 (ELBv2 API reference, TargetGroupTuple)
            [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [{"TargetGroupArn": BLUE}, {"TargetGroupArn": GREEN, "Weight": 0}]
                    },
                }
            ],
            {BLUE: 1, GREEN: 0},
        ),
        ([{"Type": "forward", "TargetGroupArn": GREEN}], {GREEN: 1}),  # the older single-group form
        ([{"Type": "fixed-response"}], {}),
        ([], {}),
    ],
)
def test_forward_weights_of_a_listener(actions: list[dict[str, Any]], weights: dict[str, int]) -> None:
    assert elbv2_api.forward_weights({"DefaultActions": actions}) == weights
