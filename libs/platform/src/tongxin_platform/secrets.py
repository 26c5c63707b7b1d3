"""Secrets a service must not run on: published defaults, empty or short values.

Production is the default: ``TONGXIN_ENV`` unset means production, and a secret anyone can know
(the development default printed in the source, an empty or short one) stops the service before
it opens anything, with an error naming the variable to set. ``TONGXIN_ENV=development`` (what
``make run`` and the tests state) lets it start with a warning in its log.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Protocol

from pydantic import SecretStr

log = logging.getLogger("tongxin.secrets")

# A keyed hash needs at least this much entropy in its key (32 random bytes, base64: 43 chars).
MIN_SECRET_LENGTH = 32

_warned: set[tuple[str, str]] = set()


class InsecureSettingError(RuntimeError):
    """A secret or key is missing or known to anyone: the service refuses to start."""


class HasEnvironment(Protocol):
    @property
    def environment(self) -> str: ...


def is_development(settings: HasEnvironment) -> bool:
    return settings.environment == "development"


def require_secret(
    settings: HasEnvironment,
    env_var: str,
    value: SecretStr | str,
    *,
    published: Collection[str] = (),
    min_length: int = MIN_SECRET_LENGTH,
) -> bytes:
    """``value`` as bytes when it is fit for production; outside development a published default,
    an empty or a short value raises ``InsecureSettingError`` naming ``env_var``; in development
    it is logged as a warning and used."""
    secret = value.get_secret_value() if isinstance(value, SecretStr) else value
    if secret in published:
        problem = "is the published development default"
    elif not secret.strip():
        problem = "is empty"
    elif len(secret) < min_length:
        problem = f"is shorter than {min_length} characters"
    else:
        return secret.encode()
    if is_development(settings):
        if (env_var, problem) not in _warned:  # once per process, not at every check
            _warned.add((env_var, problem))
            log.warning(
                "%s %s: accepted because TONGXIN_ENV=development (never in production)",
                env_var,
                problem,
            )
        return secret.encode()
    raise InsecureSettingError(
        f"{env_var} {problem}: set it to a random value of at least {min_length} characters "
        f"(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or state "
        "development mode with TONGXIN_ENV=development"
    )
