"""A local webhook receiver on 127.0.0.1 standing in for the WeCom and DingTalk group robots:
it records every request (path, query, JSON body) and answers as told — ``{"errcode": 0}``, or
for the first N requests (or all) an ``errcode`` ≠ 0, an HTTP 500, or no answer for a while.

    async with receiving() as robot:
        robot.fail_first(2, how="errcode")
        url = robot.url("/cgi-bin/webhook/send?key=K")
        ...
        assert len(robot.received) == 3
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.servers import serving

How = Literal["errcode", "http500", "hang"]


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: Any
    raw: bytes
    content_type: str
    ok: bool = False  # answered with success


@dataclass
class Receiver:
    base: str = ""
    received: list[Received] = field(default_factory=list)  # every request, answered or not
    failures_left: int = 0
    how: How = "errcode"
    hang_seconds: float = 30.0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path_and_query: str) -> str:
        return f"{self.base}{path_and_query}"

    def fail_first(self, n: int, *, how: How = "errcode") -> None:
        """Answer the next ``n`` requests with a failure (``n`` very large: always)."""
        self.failures_left, self.how = n, how

    def always_fail(self, *, how: How = "errcode") -> None:
        self.fail_first(10**9, how=how)

    def delivered(self) -> list[Received]:
        """The requests answered with success."""
        return [r for r in self.received if r.ok]

    def about(self, text: str) -> int:
        """How many delivered messages mention ``text`` (an id their link names)."""
        return sum(text in json.dumps(r.body, ensure_ascii=False) for r in self.delivered())

    def as_robot_of(self, district: str) -> dict[str, str]:
        """The environment that makes this receiver the district's WeCom group robot
        (``TONGXIN_ALERT_WEBHOOKS``), for a worker started as a process."""
        robot = {"kind": "wecom", "url": self.url("/cgi-bin/webhook/send?key=K")}
        return {"TONGXIN_ALERT_WEBHOOKS": json.dumps({district: [robot]})}


def _app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        record = Received(
            "/" + path,
            dict(request.query_params),
            body,
            raw,
            request.headers.get("content-type", ""),
        )
        receiver.received.append(record)
        if receiver.failures_left > 0:
            receiver.failures_left -= 1
            if receiver.how == "http500":
                return JSONResponse({"error": "boom"}, status_code=500)
            if receiver.how == "hang":
                with suppress(TimeoutError):
                    await asyncio.wait_for(receiver.released.wait(), receiver.hang_seconds)
                return JSONResponse({"errcode": 0, "errmsg": "ok (too late)"})
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        record.ok = True
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    return app


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serving(_app(receiver)) as base:
        receiver.base = base
        try:
            yield receiver
        finally:
            receiver.released.set()
