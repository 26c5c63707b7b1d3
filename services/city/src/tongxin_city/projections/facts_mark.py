"""The key the facts' handlers mark people with, given by the service's settings before anything
is folded (``FACTS.configure(settings)``: the worker and ``replay`` do it). Without a key a
handler refuses rather than keep anything that could name a person."""

from __future__ import annotations

from typing import Any

from tongxin_city.domain.marks import mark


class Marker:
    """``MARK(district, ref)``: the one-way mark of a pseudonym with the configured key."""

    def __init__(self) -> None:
        self.key: bytes | None = None

    def configure(self, settings: Any) -> None:
        self.key = settings.mark_secret()

    def __call__(self, district: str, ref: str) -> str:
        if self.key is None:
            raise RuntimeError("city facts: no mark key (configure FACTS with the settings)")
        return mark(self.key, district, ref)


MARK = Marker()
