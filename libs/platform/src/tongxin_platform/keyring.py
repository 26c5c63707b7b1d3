"""Master keys held outside the database: they wrap every subject's data key.

``Keyring`` is the port (a KMS would be another implementation); ``LocalKeyring`` keeps the
master keys in a directory named by ``TONGXIN_KEYRING_DIR``:

    <dir>/<key id>.key   one 256-bit master key, base64 (mode 600)
    <dir>/CURRENT        the id of the key new data keys are wrapped with

A data key is wrapped with AES-256-GCM under the current master key, its subject and key id
bound as associated data (a wrapped key moved to another row does not open), and stored with the
master key's id. Rotation adds a key and makes it CURRENT (``rotate``); every stored data key is
then rewrapped (``tongxin-<service> keys rewrap``); the old key stays readable until then.

Development (``TONGXIN_ENV=development``) with no directory given uses ``<repo>/.data/keyring``
and creates its first key there; production refuses to start without one.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tongxin_platform.secrets import InsecureSettingError, is_development
from tongxin_platform.settings import PlatformSettings

CURRENT = "CURRENT"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NONCE = 12


class KeyringError(InsecureSettingError):
    """No usable master key: missing directory, missing or malformed key file."""


class UnwrapError(RuntimeError):
    """A wrapped data key does not open: wrong master key, or a row tampered with. Not an
    erasure (``SubjectErasedError``): the data is there, the keyring is wrong."""


class Keyring(Protocol):
    """Wraps and unwraps data keys with master keys kept outside the database."""

    @property
    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """``(master key id, wrapped key)`` under the current master key."""
        ...

    def unwrap(self, master_key_id: str, wrapped: bytes, context: bytes) -> bytes: ...


class LocalKeyring:
    """Master keys in files of one directory (see the module docstring)."""

    def __init__(self, directory: Path, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise KeyringError(f"{directory}/{CURRENT} names {current!r}, which has no key file")
        self.directory, self._keys, self._current = directory, keys, current
        self._ciphers: dict[str, AESGCM] = {}

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE)
        return self._current, nonce + self._cipher(self._current).encrypt(nonce, data_key, context)

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            cipher = self._ciphers[key_id] = AESGCM(self._keys[key_id])
        return cipher

    def unwrap(self, master_key_id: str, wrapped: bytes, context: bytes) -> bytes:
        key = self._keys.get(master_key_id)
        if key is None and (self.directory / f"{master_key_id}.key").is_file():
            # Added by a rotation in another process since this one read the directory.
            fresh = LocalKeyring.load(self.directory)
            self._keys = fresh._keys
            key = self._keys.get(master_key_id)
        if key is None:
            raise UnwrapError(
                f"master key {master_key_id!r} is not in {self.directory} (was it retired "
                "before every data key was rewrapped?)"
            )
        try:
            return self._cipher(master_key_id).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], context)
        except InvalidTag as exc:
            raise UnwrapError(f"a data key does not open under master key {master_key_id}") from exc

    @classmethod
    def load(cls, directory: Path) -> LocalKeyring:
        if not (directory / CURRENT).is_file():
            raise KeyringError(
                f"no master key in {directory} (no {CURRENT} file): create one with "
                "`tongxin-<service> keys init`, or point TONGXIN_KEYRING_DIR at the keyring"
            )
        keys: dict[str, bytes] = {}
        for f in directory.glob("*.key"):
            key = base64.b64decode(f.read_text().strip(), validate=True)
            if len(key) != 32:
                raise KeyringError(f"{f} does not hold a 256-bit key (base64 of 32 bytes)")
            keys[f.name.removesuffix(".key")] = key
        return cls(directory, keys, (directory / CURRENT).read_text().strip())

    @classmethod
    def create(cls, directory: Path) -> LocalKeyring:
        """A keyring with its first master key (an existing one is loaded, never replaced)."""
        if (directory / CURRENT).is_file():
            return cls.load(directory)
        rotate(directory)
        return cls.load(directory)


def new_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def rotate(directory: Path, key_id: str | None = None) -> str:
    """Add a master key to ``directory`` and make it CURRENT; return its id. The keys before it
    stay (they open the data keys not yet rewrapped)."""
    key_id = key_id or new_key_id()
    if not _ID.match(key_id):
        raise KeyringError(f"not a valid master key id: {key_id!r}")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{key_id}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    tmp = directory / f".{CURRENT}.{secrets.token_hex(4)}"
    tmp.write_text(key_id + "\n")
    tmp.replace(directory / CURRENT)
    return key_id


def retire(directory: Path, key_id: str) -> None:
    """Delete a master key that no data key is wrapped with any more (never the current one)."""
    keyring = LocalKeyring.load(directory)
    if key_id == keyring.current_id:
        raise KeyringError(f"{key_id} is the current master key: rotate first")
    (directory / f"{key_id}.key").unlink()


def keyring_directory(settings: PlatformSettings) -> Path:
    """``TONGXIN_KEYRING_DIR``, else (development only) ``<data root>/keyring``: the data root
    of the infra scripts, ``TONGXIN_DATA_DIR`` or ``<repo>/.data``."""
    if settings.keyring_dir:
        return Path(settings.keyring_dir).expanduser().resolve()
    if not is_development(settings):
        raise KeyringError(
            "TONGXIN_KEYRING_DIR is not set: production needs the directory of the master keys "
            "that wrap the subject keys (`tongxin-<service> keys init` creates one), or state "
            "development mode with TONGXIN_ENV=development"
        )
    from tongxin_platform.testing import repo_root

    data_root = os.environ.get("TONGXIN_DATA_DIR")
    try:
        return (Path(data_root).resolve() if data_root else repo_root() / ".data") / "keyring"
    except FileNotFoundError as exc:
        raise KeyringError(
            "TONGXIN_KEYRING_DIR is not set and this is not a Tongxin checkout "
            "(no .data/ to keep a development keyring in)"
        ) from exc


def keyring_of(settings: PlatformSettings) -> LocalKeyring:
    """The keyring the settings name; in development a missing one is created."""
    return _open(keyring_directory(settings), is_development(settings))


@cache
def _open(directory: Path, create: bool) -> LocalKeyring:
    return LocalKeyring.create(directory) if create else LocalKeyring.load(directory)


def default_keyring() -> LocalKeyring:
    """The keyring of this process's environment (read once)."""
    return keyring_of(PlatformSettings())


def forget_keyrings() -> None:
    """Read the keyring files again on next use (after a rotation in this process, in tests)."""
    _open.cache_clear()
