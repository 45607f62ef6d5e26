"""Opt-outs as keyed hashes (R3, issue 13): the key's sources, matching one number and a
whole column, and a list that cannot be turned back into numbers."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sms_core.rules.optout_hash import HashedOptOuts, optout_hash
from sms_core.store import suppression


def test_the_key_comes_from_the_environment_then_secrets_toml_then_the_development_key(
    tmp_path,
):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('SMS_OPTOUT_KEY = "from-secrets"\n', encoding="utf-8")
    env = {"SMS_OPTOUT_KEY": "from-env"}
    assert suppression.optout_key(env, secrets) == b"from-env"
    assert suppression.optout_key({}, secrets) == b"from-secrets"
    missing = tmp_path / "none.toml"
    assert suppression.optout_key({}, missing) == suppression.DEVELOPMENT_KEY.encode()


def test_hashes_depend_on_the_key_and_never_hold_the_number():
    a, b = optout_hash(b"key-a", "09012345678"), optout_hash(b"key-b", "09012345678")
    assert a != b and len(a) == 64 and "09012345678" not in a


def test_matching_one_number_and_a_column_hashes_only_rows_with_a_listed_tail():
    key = b"k"
    listed = HashedOptOuts(
        key,
        frozenset({optout_hash(key, "09012345678")}),
        frozenset({"5678"}),
    )
    assert "09012345678" in listed and "08012345678" not in listed and None not in listed
    column = pa.array(["09012345678", None, "08012345678", "07011112222"], pa.string())
    assert listed.mask(column).tolist() == [True, False, False, False]
    with pytest.raises(TypeError):
        tuple(listed)  # the list holds no numbers: never silently empty
