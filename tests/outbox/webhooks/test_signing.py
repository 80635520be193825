from __future__ import annotations

import base64
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.outbox.webhooks.signing import generate_secret, sign_headers

BODY = json.dumps({"id": "evt_1", "type": "invoice.overdue", "data": {}}).encode()


def _now() -> dt.datetime:
    # The receiver checks the timestamp against its own clock (5 minutes tolerance).
    return dt.datetime.now(dt.UTC)


def test_generate_secret_is_standard_webhooks_format() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert generate_secret() != secret
    Webhook(secret)  # accepted by the reference implementation


def test_headers_are_standard_webhooks() -> None:
    sent_at = dt.datetime(2026, 3, 2, 9, 0, 0, 750000, tzinfo=dt.UTC)
    headers = sign_headers(
        msg_id="evt_1", body=BODY, secrets=[generate_secret()], timestamp=sent_at
    )
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    version, signature = headers["webhook-signature"].split(",")
    assert version == "v1"
    assert len(base64.b64decode(signature)) == 32  # HMAC-SHA256


def test_receiver_verifies() -> None:
    secret = generate_secret()
    headers = sign_headers(msg_id="evt_1", body=BODY, secrets=[secret], timestamp=_now())
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_both_secrets_sign_during_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    headers = sign_headers(msg_id="evt_1", body=BODY, secrets=[old, new], timestamp=_now())
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_tampered_body_or_id_is_rejected() -> None:
    secret = generate_secret()
    headers = sign_headers(msg_id="evt_1", body=BODY, secrets=[secret], timestamp=_now())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"overdue", b"paid"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_2"})


def test_non_utc_timestamp_is_the_same_instant() -> None:
    # standardwebhooks' sign() replaces tzinfo instead of converting: a Paris time must not
    # come out one hour off (the receiver would then reject it as too old/new).
    secret = generate_secret()
    paris = _now().astimezone(ZoneInfo("Europe/Paris"))
    headers = sign_headers(msg_id="evt_1", body=BODY, secrets=[secret], timestamp=paris)
    assert headers["webhook-timestamp"] == str(int(paris.timestamp()))
    Webhook(secret).verify(BODY, headers)


def test_stale_signature_is_rejected_by_receiver() -> None:
    secret = generate_secret()
    old = _now() - dt.timedelta(minutes=10)
    headers = sign_headers(msg_id="evt_1", body=BODY, secrets=[secret], timestamp=old)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_headers(msg_id="evt_1", body=BODY, secrets=[], timestamp=_now())
    with pytest.raises(ValueError, match="aware"):
        sign_headers(
            msg_id="evt_1",
            body=BODY,
            secrets=[generate_secret()],
            timestamp=dt.datetime(2026, 1, 1),
        )
