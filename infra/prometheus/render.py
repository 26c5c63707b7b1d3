"""Render Prometheus's configuration: every service's API and worker ``/metrics`` as targets.

    uv run --no-sync python infra/prometheus/render.py [--service NAME=API,WORKER]...
        [--scrape-interval 15s] [--rules PATH] [--out PATH] [--compose]

Without ``--service``, every service under ``services/`` is listed, at the ports its own
settings give (``tongxin_<name>.bootstrap.SERVICE.settings()``, so ``<SERVICE>_HTTP_PORT`` and
``<SERVICE>_WORKER_HTTP_PORT`` are honoured, as ``tongxin-<name> url`` does): a new service is
scraped without a line here. ``--service registry=127.0.0.1:18001,127.0.0.1:19001`` names one
by hand (a test's), the worker part optional. Two jobs, ``tongxin-api`` and ``tongxin-worker``,
each target labelled ``service``; the services' own ``service`` label is kept (honor_labels).
``--compose`` renders the committed ``prometheus.compose.yml`` of docker-compose.yml: the same
targets at the containers' names (``registry:8001``, ``registry-worker:9001``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = Path(__file__).resolve().parent / "alerts.yml"
COMPOSE = Path(__file__).resolve().parent / "prometheus.compose.yml"
COMPOSE_RULES = Path("/etc/prometheus/alerts.yml")  # where docker-compose.yml mounts alerts.yml


@dataclass(frozen=True)
class Target:
    service: str
    api: str  # host:port
    worker: str  # host:port, "" when the service has no worker port


def services(root: Path = ROOT) -> list[str]:
    """Every service of the repository: a directory under services/ with a pyproject."""
    return sorted(p.name for p in (root / "services").iterdir() if (p / "pyproject.toml").is_file())


def from_settings(name: str) -> Target:
    settings = importlib.import_module(f"tongxin_{name}.bootstrap").SERVICE.settings()
    host = settings.http_host
    worker = f"{host}:{settings.worker_http_port}" if settings.worker_http_port else ""
    return Target(name, f"{host}:{settings.http_port}", worker)


def in_compose(name: str) -> Target:
    """The service's containers in docker-compose.yml: ``<name>`` and ``<name>-worker``."""
    here = from_settings(name)
    worker = f"{name}-worker:{here.worker.rpartition(':')[2]}" if here.worker else ""
    return Target(name, f"{name}:{here.api.rpartition(':')[2]}", worker)


def parse_service(text: str) -> Target:
    name, _, where = text.partition("=")
    api, _, worker = where.partition(",")
    if not name or not api:
        raise argparse.ArgumentTypeError(f"--service {text!r}: expected NAME=HOST:PORT[,HOST:PORT]")
    return Target(name, api, worker)


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML string


def render(targets: list[Target], *, interval: str = "15s", rules: Path = RULES) -> str:
    lines = [
        "# Rendered by infra/prometheus/render.py (start.sh; --compose: this file); do not edit.",
        "global:",
        f"  scrape_interval: {interval}",
        f"  evaluation_interval: {interval}",
        "rule_files:",
        f"  - {_q(str(rules))}",
        "scrape_configs:",
    ]
    for job, part in (("tongxin-api", "api"), ("tongxin-worker", "worker")):
        lines += [
            f"  - job_name: {job}",
            "    metrics_path: /metrics",
            "    honor_labels: true",
            "    static_configs:",
        ]
        listed = [t for t in targets if getattr(t, part)]
        for t in listed:
            lines += [
                f"      - targets: [{_q(getattr(t, part))}]",
                f"        labels: {{service: {_q(t.service)}}}",
            ]
        if not listed:
            lines.append("      []")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", action="append", type=parse_service, default=[])
    parser.add_argument("--scrape-interval", default="15s")
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compose", action="store_true")
    args = parser.parse_args(argv)
    if args.compose:
        text = render([in_compose(name) for name in services()], rules=COMPOSE_RULES)
    else:
        targets = args.service or [from_settings(name) for name in services()]
        text = render(targets, interval=args.scrape_interval, rules=args.rules.resolve())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
