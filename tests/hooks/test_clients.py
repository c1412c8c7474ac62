"""The hooks' clients: botocore's session, told the services asked for instead of listing them all."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.exceptions
import botocore.session
import pytest

from hooks import clients


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    clients.forget_clients()
    yield
    clients.forget_clients()


def _loader() -> object:
    (session,) = clients._sessions.values()
    return session.get_component("data_loader")


@pytest.mark.usefixtures("fresh_clients")
def test_the_session_lists_only_the_services_asked_for() -> None:
    clients.client("codedeploy")
    loader = _loader()
    assert loader.list_available_services("service-2") == ["codedeploy"]  # type: ignore[attr-defined]

    clients.client("elbv2")
    assert loader.list_available_services("service-2") == ["codedeploy", "elbv2"]  # type: ignore[attr-defined]
    assert loader.list_available_services("endpoint-rule-set-1") == ["codedeploy", "elbv2"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("fresh_clients")
@pytest.mark.parametrize("service", ["codedeploy", "elbv2", "cloudwatch", "s3"])
def test_a_client_is_the_one_botocore_makes(service: str) -> None:
    made = clients.client(service)
    plain = botocore.session.get_session().create_client(service, region_name="ap-northeast-2")

    assert made.meta.service_model.api_version == plain.meta.service_model.api_version
    assert made.meta.endpoint_url == plain.meta.endpoint_url
    assert sorted(made.meta.method_to_api_mapping) == sorted(plain.meta.method_to_api_mapping)


@pytest.mark.usefixtures("fresh_clients")
def test_an_unknown_service_is_refused_as_botocore_refuses_it() -> None:
    from botocore.exceptions import UnknownServiceError

    with pytest.raises(UnknownServiceError):
        clients.client("no-such-service")


@pytest.mark.usefixtures("fresh_clients")
def test_a_botocore_the_narrowed_loader_does_not_fit_still_gives_a_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Lambda runtime's botocore is not ours to pin: a loader that breaks falls back to botocore's."""

    def incompatible(session: object) -> object:
        raise AttributeError("botocore.loaders.Loader has no attribute 'list_api_versions'")

    monkeypatch.setattr(clients, "_asked_services_loader", incompatible)
    made = clients.client("codedeploy")
    assert made.meta.service_model.service_name == "codedeploy"
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        clients.client("no-such-service")
