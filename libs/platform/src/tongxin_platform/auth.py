"""Who is calling: bearer JWTs carrying a role and a scope (city / district / school / class).

Production verifies tokens with a configured public key (EdDSA or RS256); development keys are
made by ``tongxin token`` under ``.data/dev-jwt/``. A missing, expired or forged token is a 401;
what the caller may do is decided by ``tongxin_platform.policy``.

Every token carries an id (``jti``), its issue time and its expiry; a token living longer than
its role's cap (``TONGXIN_TOKEN_MAX_TTL``, default 12 h, or ``TONGXIN_TOKEN_MAX_TTL_<ROLE>``,
in seconds) is refused, and so is a token whose id is listed in the revocation file
(``TONGXIN_JWT_REVOKED_FILE``, default ``revoked.txt`` beside the verification key: one id a
line, ``#`` comments), which every service of a district reads again when it changes.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ISSUER = "tongxin"
AUDIENCE = "tongxin"
ALGORITHMS = ["EdDSA", "RS256"]


class Role(StrEnum):
    # school staff (DESIGN.md §1)
    principal = "principal"
    middle_leader = "middle_leader"
    head_teacher = "head_teacher"
    subject_teacher = "subject_teacher"
    psych_teacher = "psych_teacher"
    health_vp = "health_vp"
    school_doctor = "school_doctor"
    legal_vp = "legal_vp"
    fire_vp = "fire_vp"
    family_education_coordinator = "family_education_coordinator"
    # agencies and the people who run or check the system
    bureau_officer = "bureau_officer"
    hospital = "hospital"
    police = "police"
    civil_affairs = "civil_affairs"
    womens_federation = "womens_federation"
    community_worker = "community_worker"
    market_regulation = "market_regulation"  # 市场监管: inspections of shops near schools
    guidance_committee = "guidance_committee"  # 专门教育指导委员会
    committee_member = "committee_member"
    operator = "operator"
    auditor = "auditor"
    city_analyst = "city_analyst"


class AuthError(Exception):
    """No valid token: HTTP 401, naming the rule the token broke."""

    def __init__(self, message: str, *, rule: str = "token.valid") -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    district: str | None = None
    school: str | None = None
    class_id: str | None = None
    # The organisation an agency's token speaks for (claim ``org``): a hospital's id, so that a
    # hospital sees only the referrals made to it. School staff need none: their scope says it.
    org: str | None = None

    @property
    def level(self) -> str:
        if self.class_id:
            return "class"
        if self.school:
            return "school"
        return "district" if self.district else "city"


DEFAULT_MAX_TTL = 12 * 3600  # people's tokens: one working day at most


def max_ttl(role: Role) -> int:
    """The longest lifetime (``exp - iat``, seconds) a token of ``role`` may have:
    ``TONGXIN_TOKEN_MAX_TTL_<ROLE>``, else ``TONGXIN_TOKEN_MAX_TTL``, else 12 h."""
    for name in (f"TONGXIN_TOKEN_MAX_TTL_{role.value.upper()}", "TONGXIN_TOKEN_MAX_TTL"):
        if (given := os.environ.get(name, "").strip()).isdigit():
            return int(given)
    return DEFAULT_MAX_TTL


def claims_for(p: Principal, *, ttl: int = 8 * 3600, now: float | None = None) -> dict[str, Any]:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": p.subject,
        "role": p.role.value,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    for key, value in (
        ("district", p.district),
        ("school", p.school),
        ("class", p.class_id),
        ("org", p.org),
    ):
        if value:
            claims[key] = value
    return claims


def mint(private_key_pem: bytes, p: Principal, *, ttl: int = 8 * 3600) -> str:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    alg = "EdDSA" if isinstance(key, Ed25519PrivateKey) else "RS256"
    return jwt.encode(claims_for(p, ttl=ttl), key, algorithm=alg)  # type: ignore[arg-type]


def token_id(token: str) -> str:
    """The ``jti`` of a token, read without verifying it (to name it, e.g. for revocation)."""
    return str(jwt.decode(token, options={"verify_signature": False}).get("jti", ""))


class TokenVerifier:
    """Verifies tokens with a public key: the one given, or — with ``loader`` — the one the
    environment names, looked for again on each call until it exists (a service started
    before ``tongxin up`` made the development key pair must not refuse every caller until a
    restart)."""

    def __init__(
        self,
        public_key_pem: bytes | None,
        *,
        loader: Callable[[], bytes | None] | None = None,
        revoked: RevocationList | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        self._key: RSAPublicKey | Ed25519PublicKey | None = None
        self._loader = loader
        self.revoked = revoked
        self._clock = clock
        # Tokens already verified: their principal, jti and exp. A signature check costs about
        # 0.6 ms of CPU, and a caller sends the same token with every request; expiry and
        # revocation are still checked on every use.
        self._verified: OrderedDict[str, tuple[Principal, str, float]] = OrderedDict()
        self._cache_size = cache_size
        if public_key_pem:
            self._key = _public_key(public_key_pem)

    @classmethod
    def from_env(cls) -> TokenVerifier:
        return cls(
            public_key_from_env(),
            loader=public_key_from_env,
            revoked=RevocationList(revocation_file()),
        )

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, jti, exp = known
            if self._clock() >= exp:
                del self._verified[token]
                raise AuthError("invalid token: Signature has expired", rule="token.valid")
            self._refuse_revoked(jti)
            self._verified.move_to_end(token)
            return principal
        principal, jti, exp = self._verify(token)
        self._verified[token] = (principal, jti, exp)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _refuse_revoked(self, jti: str) -> None:
        if self.revoked is not None and jti in self.revoked:
            raise AuthError(f"token revoked: jti {jti} (rule token.revoked)", rule="token.revoked")

    def _verify(self, token: str) -> tuple[Principal, str, float]:
        if self._key is None and self._loader is not None:
            pem = self._loader()
            if pem:
                self._key = _public_key(pem)
        if self._key is None:
            raise AuthError("this service has no token verification key configured")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=ALGORITHMS,
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            rule = (
                "token.claims" if isinstance(exc, jwt.MissingRequiredClaimError) else "token.valid"
            )
            raise AuthError(f"invalid token: {exc}", rule=rule) from exc
        for name in ("sub", "role", "jti", "district", "school", "class", "org"):
            if name in claims and not (isinstance(claims[name], str) and claims[name]):
                raise AuthError(
                    f"invalid token: claim {name} must be a non-empty string", rule="token.claims"
                )
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise AuthError(
                f"invalid token: unknown role {claims.get('role')!r}", rule="token.claims"
            ) from exc
        lifetime, cap = claims["exp"] - claims["iat"], max_ttl(role)
        if lifetime > cap:
            raise AuthError(
                f"token lifetime: exp - iat is {lifetime} s, over the {cap} s allowed"
                f" for role {role.value} (rule token.max_ttl)",
                rule="token.max_ttl",
            )
        self._refuse_revoked(claims["jti"])
        district, school, class_id = (
            claims.get("district"),
            claims.get("school"),
            claims.get("class"),
        )
        if (class_id and not school) or (school and not district):
            raise AuthError(
                "invalid token: a class scope needs its school, a school its district",
                rule="token.claims",
            )
        principal = Principal(claims["sub"], role, district, school, class_id, claims.get("org"))
        return principal, claims["jti"], float(claims["exp"])


class RevocationList:
    """Revoked token ids, from a file read again whenever it changes (size or time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._ids: frozenset[str] = frozenset()

    def __contains__(self, jti: object) -> bool:
        return jti in self.ids()

    def ids(self) -> frozenset[str]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._seen, self._ids = None, frozenset()
            return self._ids
        if (st.st_mtime_ns, st.st_size) != self._seen:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            self._ids = frozenset(
                ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()
            )
            self._seen = (st.st_mtime_ns, st.st_size)
        return self._ids

    def revoke(self, jti: str, note: str = "") -> bool:
        """Add ``jti`` (False when it was already there)."""
        if jti in self.ids():
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"{jti}" + (f"  # {note}" if note else "") + "\n")
        return True


def _public_key(pem: bytes) -> RSAPublicKey | Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, RSAPublicKey | Ed25519PublicKey):
        raise ValueError("the token verification key must be Ed25519 or RSA")
    return key


# --- development keys -------------------------------------------------------------------------


def dev_key_dir() -> Path:
    """Where development keys live: ``$TONGXIN_DATA_DIR/dev-jwt`` (default ``.data/dev-jwt``)."""
    return Path(os.environ.get("TONGXIN_DATA_DIR", ".data")) / "dev-jwt"


def dev_keypair(directory: Path | None = None) -> tuple[bytes, bytes]:
    """The development signing key pair, made on first use (Ed25519). Never for production."""
    directory = directory or dev_key_dir()
    private, public = directory / "private.pem", directory / "public.pem"
    if not private.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private.read_bytes(), public.read_bytes()


def revocation_file() -> Path:
    """``TONGXIN_JWT_REVOKED_FILE``, else ``revoked.txt`` beside the verification key file."""
    if path := os.environ.get("TONGXIN_JWT_REVOKED_FILE"):
        return Path(path)
    key = Path(os.environ.get("TONGXIN_JWT_PUBLIC_KEY_FILE", dev_key_dir() / "public.pem"))
    return key.parent / "revoked.txt"


def public_key_from_env() -> bytes | None:
    """``TONGXIN_JWT_PUBLIC_KEY`` (PEM) or ``TONGXIN_JWT_PUBLIC_KEY_FILE``, else the dev key."""
    if pem := os.environ.get("TONGXIN_JWT_PUBLIC_KEY"):
        return pem.encode()
    path = Path(os.environ.get("TONGXIN_JWT_PUBLIC_KEY_FILE", dev_key_dir() / "public.pem"))
    return path.read_bytes() if path.exists() else None
