"""(to be written)"""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""
