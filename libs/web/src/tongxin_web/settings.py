"""The settings every service with pages has (under its own prefix: ``AGENCIES_DEMO_SIGN_IN``,
``CITY_LIVE_INTERVAL``, …): sign-in for people is a session cookie holding a token; in
development the sign-in page offers demo users and ``/demo/<role>`` signs one in at once —
never in production, where the token comes from the configured issuer."""

from __future__ import annotations

from pydantic import Field

from tongxin_platform.settings import ServiceSettings


class PageSettings(ServiceSettings):
    """A service's settings with its pages' (a service overrides a default by redeclaring it)."""

    # Demo users and /demo/<role>. Empty: on exactly in development.
    demo_sign_in: bool | None = None
    session_ttl: int = Field(default=8 * 3600, ge=60)
    # How often an open page asks for fresh figures (seconds).
    live_interval: float = Field(default=2.0, gt=0)

    def demo_enabled(self) -> bool:
        """Demo users: in development only, unless switched off there."""
        if self.demo_sign_in is None:
            return self.environment == "development"
        return self.demo_sign_in and self.environment == "development"
