"""Base classes shared by every integration event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class StreamName:
    """How the ids of one kind of aggregate are spelt: ``kind-<part>[-<part>…]``.

    Defined once per aggregate in the producing service's contracts module: the event's
    ``aggregate_id`` (the Kafka key and the store's stream) and the service's commands both use
    it, so the two can never drift apart.
    """

    kind: str

    def __call__(self, *parts: str) -> str:
        return "-".join((self.kind, *parts))

    def owns(self, stream_id: str) -> bool:
        return stream_id.startswith(f"{self.kind}-")

    def id_of(self, stream_id: str) -> str:
        """``student-stu_1`` → ``stu_1`` (the parts, as they were joined)."""
        if not self.owns(stream_id):
            raise ValueError(f"{stream_id!r} is not a {self.kind} stream")
        return stream_id[len(self.kind) + 1 :]


class IntegrationEvent(BaseModel):
    """An integration event: a fact one service publishes for everyone else.

    Subclasses set ``service`` (the producing service), ``name`` (past tense) and ``version``.
    The CloudEvents type is ``cn.tongxin.<service>.<name>.v<version>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def ce_type(cls) -> str:
        return f"cn.tongxin.{cls.service}.{cls.name}.v{cls.version}"

    @classmethod
    def ce_types(cls) -> tuple[str, ...]:
        """The type of every version up to this one: older ones decode (upcast) into this model,
        so a handler of the event handles them all."""
        return tuple(f"cn.tongxin.{cls.service}.{cls.name}.v{v}" for v in range(1, cls.version + 1))

    def aggregate_id(self) -> str:
        """The id of the aggregate the event belongs to: the Kafka key, the store's stream."""
        raise NotImplementedError


class Sealed(BaseModel):
    """Personal information encrypted for one data subject (AES-256-GCM, envelope encryption).

    Only consumers entitled to the subject's data key can open it; erasing the subject deletes
    the key, after which the ciphertext is noise (crypto-shredding) while hash chains still verify.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(
        description="Pseudonymous reference of the data subject whose key seals this."
    )
    key_id: str = Field(description="Id of the subject's data key in the producer's key store.")
    nonce: str = Field(description="AES-GCM nonce, base64url without padding (12 bytes).")
    ciphertext: str = Field(
        description="AES-GCM ciphertext and tag of the JSON object of personal fields, base64url."
    )
