"""What every demo player shares: acting as many people (a development token per role, scope
and subject), sending with retries and an ``Idempotency-Key`` per step, refusals as a clear
failure, waiting for a read model to catch up, and playing a service's demo school by school
(``play_demo``)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Generic, TypeVar

import httpx
from rich.console import RenderableType

from tongxin_cli.auth_cmds import bearer_for
from tongxin_cli.console import err, fail, one_line, out
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import Role

Headers = dict[str, str]
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# Events the services answered they appended to the demos' commands, per service (the demo
# city's summary reads it): ``{"events": [name, ...]}`` of each command's answer.
APPENDED: Counter[str] = Counter()


def until(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    """``probe()`` once it answers something true; a clear failure after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
    return value


class DemoActor:
    """Acts on one service (``service``) and reads the registry, as the people of a district."""

    def __init__(
        self,
        service: httpx.Client,
        registry: httpx.Client,
        district: str,
        today: date,
        name: str,
        key_prefix: str | None = None,
    ) -> None:
        self.service, self.registry, self.district = service, registry, district
        self.today, self.name = today, name
        # Keys of the demos played before this module existed are kept ("demo-", "demo-wb-"):
        # a second `tongxin seed` the same day answers them as before.
        self.key_prefix = f"demo-{name}-" if key_prefix is None else key_prefix
        self.tokens: dict[tuple[Any, ...], Headers] = {}

    def who(
        self, role: Role, *scope: str | None, sub: str = "demo", org: str | None = None
    ) -> Headers:
        """A bearer header; ``scope`` is a school and class, ``sub`` a staff_ref or a carer's
        pseudonym, ``org`` the organisation an agency's person speaks for."""
        key = (role, scope, sub, org)
        if key not in self.tokens:
            token = bearer_for(role, self.district, *scope, subject=sub, org=org)
            self.tokens[key] = {"Authorization": f"Bearer {token}"}
        return self.tokens[key]

    def get(self, path: str, who: Headers, registry: bool = False) -> Any:
        return self.send(self.registry if registry else self.service, "GET", path, headers=who)

    def post(self, path: str, who: Headers, body: Any = None, key: str = "") -> Any:
        """A command; its key makes a retry (or a second ``tongxin seed`` the same day) safe."""
        who = who | {"Idempotency-Key": f"{self.key_prefix}{self.today}-{key}"}
        answer = self.send(self.service, "POST", path, json=body, headers=who)
        if isinstance(answer, dict) and isinstance(answer.get("events"), list):
            APPENDED[self.name] += len(answer["events"])
        return answer

    def send(self, client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
        for attempt in (1, 2, 3):
            try:
                r = client.request(method, path, **kw)
            except httpx.ConnectError:
                fail(
                    f"nothing answers at {client.base_url} "
                    f"(start it, or seed with --no-{self.name})"
                )
            except httpx.TransportError as exc:
                if attempt == 3:
                    fail(f"{method} {client.base_url}{path}: {one_line(str(exc)) or exc!r}")
                continue
            if r.is_error:
                problem = "json" in r.headers.get("content-type", "")
                why = r.json().get("detail") if problem else one_line(r.text)
                fail(f"{method} {client.base_url}{path} refused ({r.status_code}): {why}")
            return r.json()
        raise AssertionError("unreachable")


P = TypeVar("P", bound=DemoActor)


@dataclass(frozen=True)
class Demo(Generic[P]):
    """One service's demo, played at every school of the demo roster by ``play_demo``."""

    service: str  # its name in the messages: "committees"
    span: str  # what a run plays: "year" (no year played)
    playing: str  # the status line while it plays
    player: Callable[[httpx.Client, httpx.Client], P]  # (the service, the registry)
    waiting_for: str  # what ``ready`` waits for, with ``{school}``
    ready: Callable[[P, str], Any]  # falsy until the school can be played; then given to ``play``
    played: Callable[[P, str], Any]  # the school was played (by an earlier run)
    already: str  # what a played school has: "a school committee"
    play: Callable[[P, str, Any, bool], None]  # (player, school, what ``ready`` gave, first)
    summary: Callable[[P, list[str]], RenderableType]
    caught_up: tuple[str, Callable[[P, list[str]], Any]] | None = None  # what, probe
    acts_as: str = "many people"  # why it is skipped with one token


def play_demo(
    demo: Demo[P],
    url: str,
    registry_url: str,
    district: str,
    spec: DemoSpec,
    wait: float,
) -> None:
    """Play ``demo`` at every school of ``district`` in ``spec`` (as ``tongxin seed`` imports
    it): skipped with ``TONGXIN_TOKEN`` set (it acts as many people) or with nothing answering
    at ``url``; a school played already is said and left; then wait for the read model and
    print the summary."""
    console = out()
    if os.environ.get("TONGXIN_TOKEN"):
        console.print(
            f"{demo.service} demo skipped: it acts as {demo.acts_as} (TONGXIN_TOKEN is set)"
        )
        return
    with (
        httpx.Client(base_url=url, timeout=TIMEOUT) as service,
        httpx.Client(base_url=registry_url, timeout=TIMEOUT) as registry,
    ):
        try:
            service.get("/health")
        except httpx.ConnectError:
            err().print(f"[yellow]no {demo.service} service at {url}: no {demo.span} played[/]")
            return
        p = demo.player(service, registry)
        schools = [f"{district}{n:03d}" for n in range(1, spec.schools + 1)]  # as demo.py
        played = []
        with err().status(demo.playing):
            for n, school in enumerate(schools):
                what = demo.waiting_for.format(school=school)
                ready = until(what, partial(demo.ready, p, school), wait)
                if demo.played(p, school):
                    console.print(f"{school}: has {demo.already} already (the demo was played)")
                    continue
                demo.play(p, school, ready, n == 0)
                played.append(school)
            if demo.caught_up is not None:
                what, probe = demo.caught_up
                until(what, partial(probe, p, played), wait)
        console.print(demo.summary(p, schools))
