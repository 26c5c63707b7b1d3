"""Shared plumbing of the benchmarks: sizes, names, timing, results, memory probes."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from tongxin_cli.demo import DemoSpec
from tongxin_contracts import IntegrationEvent

# Districts of the imports (one demo roster each; distinct ids, so every import writes new streams).
DISTRICTS = ("330106", "330102", "330105", "330108", "330110", "330109")
PARTITIONS = 6  # as registry.events in infra/kafka/topics.txt


@dataclass(frozen=True)
class Sizes:
    rounds: int  # interleaved rounds of the append measures
    append_seconds: float  # measuring window of one append measure
    warmup_seconds: float
    writers: int  # asyncpg connections / eventsourcing threads
    spec: DemoSpec  # one import's roster
    imports: int  # rosters imported (all of them then go through the relay and the replay)
    relay_timeout: float
    replay_timeout: float
    visits_rate: float = 200.0  # commands/s offered to the visits API (DESIGN.md §8)
    visits_seconds: float = 20.0  # window of the visits HTTP measure
    visits_peer_seconds: float = 10.0  # window of each peer (floor twice, direct once)
    replay_rounds: int = 4  # interleaved rounds of each replay (FastStream, raw, bare)
    board_visits: int = 2500  # visits recorded for the board replay's visits topic
    board_seconds: float = 40.0  # at most this long to record them


FULL = Sizes(
    rounds=3,
    append_seconds=5.0,
    warmup_seconds=0.5,
    writers=8,
    spec=DemoSpec(schools=10, classes_per_school=40, students_per_class=50),
    imports=4,
    relay_timeout=120.0,
    replay_timeout=180.0,
)
QUICK = Sizes(
    rounds=2,
    append_seconds=1.0,
    warmup_seconds=0.2,
    writers=8,
    spec=DemoSpec(schools=2, classes_per_school=10, students_per_class=50),
    imports=2,
    relay_timeout=20.0,
    replay_timeout=20.0,
    replay_rounds=2,
    board_visits=200,
    board_seconds=10.0,
    visits_seconds=5.0,
    visits_peer_seconds=2.0,
)


@dataclass(frozen=True)
class Names:
    """Everything this run creates: databases and topics, all prefixed by the run's stamp."""

    stamp: str

    @classmethod
    def fresh(cls) -> Names:
        return cls(datetime.now(UTC).strftime("%Y%m%d_%H%M%S") + f"_{os.getpid()}")

    @property
    def store_db(self) -> str:  # measures 1, 2 (and the append variant)
        return f"bench_{self.stamp}"

    @property
    def es_db(self) -> str:  # measure 3
        return f"bench_{self.stamp}_es"

    @property
    def registry_db(self) -> str:  # measures 4, 5, 6
        return f"bench_{self.stamp}_registry"

    @property
    def api_db(self) -> str:  # measure 7 (the API process)
        return f"bench_{self.stamp}_api"

    @property
    def board_db(self) -> str:  # the visits workload of the board replay
        return f"bench_{self.stamp}_board"

    @property
    def agencies_db(self) -> str:  # the agencies' models and the district page
        return f"bench_{self.stamp}_agencies"

    @property
    def city_db(self) -> str:  # the city's models and the city page
        return f"bench_{self.stamp}_city"

    @property
    def databases(self) -> list[str]:
        return [
            self.store_db,
            self.es_db,
            self.registry_db,
            self.api_db,
            self.board_db,
            self.agencies_db,
            self.city_db,
        ]

    @property
    def topic_prefix(self) -> str:  # every topic of the run starts with it (DLQ topics too)
        return f"bench-{self.stamp.replace('_', '-')}."

    @property
    def topic(self) -> str:  # the registry's events, relayed in 5, replayed in 6
        return f"bench-{self.stamp.replace('_', '-')}.registry.events"

    @property
    def ceiling_topic(self) -> str:  # the bare producer's target in 5
        return f"bench-{self.stamp.replace('_', '-')}.ceiling"

    @property
    def api_topic(self) -> str:  # outbox rows of the API process (never relayed)
        return f"bench-{self.stamp.replace('_', '-')}.api.events"

    @property
    def board_topic(self) -> str:  # the visits workload, replayed with the registry's topic
        return f"{self.topic_prefix}board.visits.events"

    @property
    def group(self) -> str:  # prefix of the replays' consumer groups
        return f"{self.topic_prefix}replay"

    # The visits latency measure (bench.visits_latency) creates and drops its own.
    @property
    def visits_databases(self) -> tuple[str, str, str]:  # registry, visits, floor peer
        return (
            f"bench_{self.stamp}_vregistry",
            f"bench_{self.stamp}_visits",
            f"bench_{self.stamp}_vfloor",
        )

    @property
    def visits_topics(self) -> tuple[str, str]:  # the roster's registry topic, visits' own
        dashed = self.stamp.replace("_", "-")
        return f"bench-{dashed}.vregistry.events", f"bench-{dashed}.visits.events"

    @property
    def visits_group(self) -> str:  # the board projection's consumer group
        return f"bench-{self.stamp.replace('_', '-')}.visits-board"


class BenchTicked(IntegrationEvent):
    """The payload of the append measures (about 60 bytes of JSON)."""

    service: ClassVar[str] = "bench"
    name: ClassVar[str] = "Ticked"
    district: str = Field(description="District.")
    stream: str = Field(description="Stream the tick belongs to.")
    n: int = Field(description="Writer-local sequence number.")

    def aggregate_id(self) -> str:
        return self.stream


def cpu_pressure() -> dict[str, float]:
    """Linux PSI ``some`` averages for CPU: the share of time something waited for a CPU."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return {}
    return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:]) if k != "total"}


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def clock() -> float:
    return time.perf_counter()


@dataclass
class Row:
    """One line of the report."""

    key: str
    measure: str
    ours: float | None
    unit: str
    peer: float | None = None
    peer_label: str = ""
    ratio: float | None = None
    ratio_kind: str = ""  # "x" (ours/peer as a factor) or "%" (ours/peer as a share)
    target: str = ""
    met: bool | None = None  # None: informative, no target
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


# --- CPU: this process and PostgreSQL backends, to tell client-bound from server-bound --------


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone: its CPU since the start is lost (backends live for the window)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_matching(needle: str) -> list[int]:
    """Processes whose command line contains ``needle`` (PostgreSQL backends show their
    database in their title: ``postgres: postgres <db> 127.0.0.1(…)``)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace"
                ):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


def postgres_backends(database: str) -> Callable[[], list[int]]:
    return lambda: pids_matching(f"postgres: postgres {database} ")


def kafka_broker() -> list[int]:
    return pids_matching("kafka.Kafka")


@dataclass
class CpuMeter:
    """CPU seconds over a window, as a share of one core: this process, and groups of other
    processes (found again at the end, so processes started in the window count too)."""

    groups: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    _t0: float = 0.0
    _c0: float = 0.0
    _start: dict[str, dict[int, float]] = field(default_factory=dict)

    def start(self) -> None:
        self._start = {g: {p: _proc_cpu_seconds(p) for p in f()} for g, f in self.groups.items()}
        self._t0, self._c0 = clock(), time.process_time()

    def stop(self) -> dict[str, float]:
        wall = clock() - self._t0
        out = {"client_cpu_share": (time.process_time() - self._c0) / wall}
        for g, f in self.groups.items():
            before = self._start.get(g, {})
            used = sum(
                max(0.0, _proc_cpu_seconds(p) - before.get(p, 0.0)) for p in set(f()) | set(before)
            )
            out[f"{g}_cpu_share"] = used / wall
        return out


# --- memory: this process's peak RSS per phase (VmHWM, reset through clear_refs) ---------


def _status_kb(field_name: str, pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    kb = _status_kb("VmHWM", pid)
    return None if kb is None else kb / 1024


def rss_mb(pid: int | str = "self") -> float | None:
    kb = _status_kb("VmRSS", pid)
    return None if kb is None else kb / 1024


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class MemoryLog:
    phases: dict[str, dict[str, float | None]] = field(default_factory=dict)
    can_reset: bool = True
    _current: str | None = None
    _start_rss: float | None = None

    def start(self, phase: str) -> None:
        self.can_reset = reset_peak_rss() and self.can_reset
        self._current, self._start_rss = phase, rss_mb()

    def stop(self) -> None:
        if self._current is not None:
            self.phases[self._current] = {
                "rss_at_start_mb": self._start_rss,
                "peak_rss_mb": peak_rss_mb(),
                "rss_at_end_mb": rss_mb(),
            }
        self._current = None

    def overall_peak(self) -> float | None:
        peaks = [p["peak_rss_mb"] for p in self.phases.values() if p["peak_rss_mb"] is not None]
        return max(peaks) if peaks else None


# --- profiles: where the time goes, by package --------------------------------------------

_PACKAGES = ("faststream", "aiokafka", "asyncpg", "pydantic", "opentelemetry", "uvicorn")


def _package(filename: str, function: str) -> str:
    if filename == "~":  # a builtin or C method: named by what it is
        if "epoll" in function or "select" in function:
            return "waiting (epoll: the loop is idle, PostgreSQL or Kafka is working)"
        if "pydantic_core" in function or "validate_json" in function:
            return "pydantic"
        return "builtins and C methods"
    for name in _PACKAGES:
        if f"/{name}/" in filename or f"/{name}_" in filename:
            return name
    if "/tongxin_" in filename:
        return filename.split("/src/")[-1].split("/")[0] + "/" + filename.rsplit("/", 1)[-1]
    if "/asyncio/" in filename or filename.endswith("selectors.py"):
        return "asyncio"
    if "/bench/" in filename:
        return "bench"
    return "other (stdlib and libraries)"


def time_by_package(stats: Any, top: int = 15) -> str:
    """A ``pstats.Stats``'s own time (tottime) summed by package or module: where the time
    goes, in a few lines."""
    totals: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():
        key = _package(filename, function)
        totals[key] = totals.get(key, 0.0) + row[2]
    whole = sum(totals.values()) or 1.0
    lines = [f"own time by package ({whole:.2f} s profiled):"]
    for key, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {seconds:7.2f} s  {100 * seconds / whole:5.1f} %  {key}")
    return "\n".join(lines) + "\n\n"
