"""Prometheus of `make run` and docker-compose: the configuration infra/prometheus/render.py
renders is valid (promtool), scrapes every service's API and worker — derived from services/,
so a new service cannot be forgotten —, and every alert rule fires on synthetic series."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "infra" / "prometheus"


def render_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prometheus_render", PROMETHEUS / "render.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def render() -> ModuleType:
    return render_module()


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool not found: apt-get install -y prometheus (.ci/run installs it)"
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=60, check=False, cwd=PROMETHEUS
    )


def targets(config: str) -> dict[str, set[tuple[str, str]]]:
    """job → {(service label, host:port)} of a rendered configuration."""
    found: dict[str, set[tuple[str, str]]] = {}
    job = ""
    target = ""
    for line in config.splitlines():
        if m := re.match(r"\s*- job_name: (\S+)", line):
            job = m.group(1)
            found[job] = set()
        elif m := re.match(r'\s*- targets: \["([^"]+)"\]', line):
            target = m.group(1)
        elif m := re.match(r'\s*labels: \{service: "([^"]+)"\}', line):
            found[job].add((m.group(1), target))
    return found


def service_dirs() -> set[str]:
    names = {p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file()}
    assert {"registry", "visits", "agencies", "city"} <= names
    return names


def test_the_rendered_configuration_and_its_alert_rules_pass_promtool(
    render: ModuleType, tmp_path: Path
) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(render.render([render.from_settings(n) for n in render.services()]))
    checked = promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout + checked.stderr


def test_every_service_under_services_is_scraped_at_its_api_and_its_worker(
    render: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the services of the repository, at their default ports (no override set)
    for name in ("REGISTRY", "VISITS", "CITY", "AGENCIES"):
        monkeypatch.delenv(f"{name}_HTTP_PORT", raising=False)
        monkeypatch.delenv(f"{name}_WORKER_HTTP_PORT", raising=False)
    names = service_dirs()
    # When the configuration of `make run` is rendered
    jobs = targets(render.render([render.from_settings(n) for n in render.services()]))
    # Then each service's API and worker are a target, labelled with the service
    assert {s for s, _ in jobs["tongxin-api"]} == names
    assert {s for s, _ in jobs["tongxin-worker"]} == names
    assert ("registry", "127.0.0.1:8001") in jobs["tongxin-api"]
    assert ("visits", "127.0.0.1:9003") in jobs["tongxin-worker"]
    assert ("city", "127.0.0.1:8020") in jobs["tongxin-api"]
    assert ("city", "127.0.0.1:9020") in jobs["tongxin-worker"]


def test_a_new_directory_under_services_becomes_a_target_without_a_line_elsewhere(
    render: ModuleType, tmp_path: Path
) -> None:
    for name in ("registry", "zoo"):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "services" / "notes").mkdir()  # not a service: no pyproject
    assert render.services(tmp_path) == ["registry", "zoo"]


def test_a_service_given_by_hand_replaces_the_derived_targets(render: ModuleType) -> None:
    given = render.parse_service("registry=127.0.0.1:18701,127.0.0.1:18702")
    jobs = targets(render.render([given], interval="1s"))
    assert jobs == {
        "tongxin-api": {("registry", "127.0.0.1:18701")},
        "tongxin-worker": {("registry", "127.0.0.1:18702")},
    }
    with pytest.raises(Exception, match="expected NAME=HOST:PORT"):
        render.parse_service("registry")


def test_docker_compose_scrapes_every_service_container_from_the_committed_rendering(
    render: ModuleType, tmp_path: Path
) -> None:
    committed = (PROMETHEUS / "prometheus.compose.yml").read_text()
    fresh = render.render(
        [render.in_compose(n) for n in render.services()], rules=render.COMPOSE_RULES
    )
    assert committed == fresh, (
        "infra/prometheus/prometheus.compose.yml is stale: uv run python "
        "infra/prometheus/render.py --compose --out infra/prometheus/prometheus.compose.yml"
    )
    compose = (ROOT / "docker-compose.yml").read_text()
    for service, target in targets(committed)["tongxin-worker"]:
        container = target.split(":")[0]
        assert f"\n  {container}:\n" in compose, f"{container} of {service} not in compose"
        assert f'"tongxin-{service}", "worker", "--host", "0.0.0.0"' in compose, service
    assert "./infra/prometheus/prometheus.compose.yml:/etc/prometheus/prometheus.yml" in compose
    assert "./infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml" in compose
    # The rules path of the compose rendering is where compose mounts alerts.yml.
    config = tmp_path / "prometheus.yml"
    config.write_text(committed.replace(str(render.COMPOSE_RULES), str(PROMETHEUS / "alerts.yml")))
    checked = promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_alert_fires_on_synthetic_series_and_stays_quiet_on_healthy_ones() -> None:
    rules = (PROMETHEUS / "alerts.yml").read_text()
    tests = (PROMETHEUS / "alerts_test.yml").read_text()
    alerts = set(re.findall(r"- alert: (\w+)", rules))
    assert {
        "TongxinOutboxBacklog",
        "TongxinConsumerLag",
        "TongxinDeadLetters",
        "TongxinSlaBreached",
    } <= alerts
    assert alerts == set(re.findall(r"alertname: (\w+)", tests)), "an alert without a rules test"
    checked = promtool("test", "rules", "alerts_test.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_use_the_metric_names_the_services_export() -> None:
    kit = (ROOT / "libs" / "platform" / "src" / "tongxin_platform" / "metrics.py").read_text()
    rules = (PROMETHEUS / "alerts.yml").read_text()
    used = set(re.findall(r"\b(tongxin_[a-z_]+)\b", rules))
    assert used, rules
    for metric in used:
        base = metric.removesuffix("_total")
        assert f'"{base}"' in kit, f"{metric} is not a metric of libs/platform metrics.py"
