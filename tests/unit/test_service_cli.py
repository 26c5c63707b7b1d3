"""The command the kit builds for each service: a projection it does not have is refused in one
line naming the ones it has, and `url` says where the API and the worker answer."""

from __future__ import annotations

from typer.testing import CliRunner

from tongxin_registry.entrypoints.cli import app as registry
from tongxin_visits.entrypoints.cli import app as visits


def test_replaying_a_projection_the_service_does_not_have_is_refused_naming_the_ones_it_has() -> (
    None
):
    result = CliRunner().invoke(visits, ["replay", "--projection", "roster"])
    assert result.exit_code == 2
    assert "visits has no projection 'roster' (it has: board)" in result.output


def test_url_says_where_the_api_and_the_worker_answer() -> None:
    env = {"REGISTRY_HTTP_PORT": "18001", "REGISTRY_WORKER_HTTP_PORT": "0"}
    runner = CliRunner()
    assert runner.invoke(registry, ["url"], env=env).output.strip() == "http://127.0.0.1:18001"
    assert runner.invoke(registry, ["url", "--worker"], env=env).output.strip() == ""
    assert runner.invoke(visits, ["url", "--worker"]).output.strip() == "http://127.0.0.1:9003"
