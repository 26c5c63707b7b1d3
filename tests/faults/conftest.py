from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port
from tongxin_platform.testing import repo_root, run_script


@dataclass
class ThrowawayBroker:
    """A Kafka broker of the test's own (own ports, own data dir), so it can be SIGKILLed."""

    bootstrap: str
    env: dict[str, str]
    pid_file: Path
    root: Path

    def kill(self) -> int:
        pid = int(self.pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        return pid

    def start(self) -> None:
        run_script(self.root, "infra/kafka/start.sh", self.env)


@pytest.fixture
def throwaway_broker(tmp_path: Path) -> Iterator[ThrowawayBroker]:
    root = repo_root(Path(__file__))
    port, controller = free_port(), free_port()
    env = {
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "TONGXIN_DATA_DIR": str(tmp_path),
    }
    broker = ThrowawayBroker(f"127.0.0.1:{port}", env, tmp_path / "kafka" / "kafka.pid", root)
    broker.start()
    yield broker
    run_script(root, "infra/kafka/stop.sh", env)
