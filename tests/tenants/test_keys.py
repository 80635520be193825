from __future__ import annotations

from app.tenants.service import split_key


def test_split_key_accepts_secrets_with_underscores():
    # Regression: token_urlsafe secrets contain "_" about once in three keys.
    assert split_key("rk_0123456789ab_se_cr_et") == "0123456789ab"
    assert split_key("rk_0123456789ab_-_") == "0123456789ab"


def test_split_key_rejects_malformed_keys():
    for key in ("", "rk_", "rk_short_secret", "xx_0123456789ab_secret", "rk_0123456789ab_"):
        assert split_key(key) is None
