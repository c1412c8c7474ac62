"""`bluegreen sandbox serve` prints what a shell needs to use the sandbox, and nothing for the hooks only."""

from __future__ import annotations

from types import SimpleNamespace

from sandbox.serve import export_lines


def test_exports_point_clients_at_the_sandbox_and_its_clock() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1111",
        "AWS_ENDPOINT_URL_CODEDEPLOY": "http://127.0.0.1:2222",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-2",
        "BLUEGREEN_CATALOG": "/tmp/services.yaml",
        "BLUEGREEN_TIME_SCALE": "40",
        "BLUEGREEN_LISTENER_HOST": "127.0.0.1",  # for the in-process hooks, not for a shell
    }
    world = SimpleNamespace(env=env, infra=[], log_path="/tmp/hooks.log", environment="prod")
    lines = export_lines(world)  # type: ignore[arg-type]
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))
    assert exports["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1111"
    assert exports["AWS_ENDPOINT_URL_CODEDEPLOY"] == "http://127.0.0.1:2222"
    # Without it, bluegreen would poll at production pace against a clock running 40x faster.
    assert exports["BLUEGREEN_TIME_SCALE"] == "40"
    assert "BLUEGREEN_LISTENER_HOST" not in exports
    # `serve --env prod`: later commands in that shell target prod without --env.
    assert exports["BLUEGREEN_ENVIRONMENT"] == "prod"
    assert (
        "# times in API answers are virtual: they start at the real time now and run 40x faster"
        in "\n".join(lines)
    )
