"""What every demo player shares: acting as many people (a development token per role, scope
and subject), sending with retries and an ``Idempotency-Key`` per step, refusals as a clear
failure, and waiting for a read model to catch up."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from tongxin_cli.auth_cmds import bearer_for
from tongxin_cli.console import fail, one_line
from tongxin_platform.auth import Role

Headers = dict[str, str]


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
        return self.send(self.service, "POST", path, json=body, headers=who)

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
