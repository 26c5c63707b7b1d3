"""Personal data sealed for one subject opens only with that subject's key, for that subject."""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.exceptions import InvalidTag

from tongxin_platform.crypto import open_with, seal_with


def test_sealed_data_opens_with_its_key_and_hides_the_plaintext() -> None:
    key = os.urandom(32)
    sealed = seal_with(uuid.uuid4(), key, "stu_1", {"name": "王子涵", "phone": "13800000000"})
    assert "13800000000" not in sealed.model_dump_json()
    assert "王子涵" not in sealed.model_dump_json()
    assert open_with(key, sealed) == {"name": "王子涵", "phone": "13800000000"}


def test_a_ciphertext_moved_to_another_subject_does_not_open() -> None:
    key = os.urandom(32)
    sealed = seal_with(uuid.uuid4(), key, "stu_1", {"name": "x"})
    with pytest.raises(InvalidTag):
        open_with(key, sealed.model_copy(update={"subject": "stu_2"}))


def test_another_key_does_not_open_it() -> None:
    sealed = seal_with(uuid.uuid4(), os.urandom(32), "stu_1", {"name": "x"})
    with pytest.raises(InvalidTag):
        open_with(os.urandom(32), sealed)
