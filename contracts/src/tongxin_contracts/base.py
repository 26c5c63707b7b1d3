"""Base classes shared by every integration event."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


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
