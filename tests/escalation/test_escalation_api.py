from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ledger

NOON = "T10:00:00+01:00"


async def test_default_policy_is_served(client, tenant):
    response = await client.get("/v1/dunning-policies/default", headers=tenant.headers)
    assert response.status_code == 200
    policy = response.json()
    assert [(s["code"], s["channel"], s["offset_days"]) for s in policy["steps"]] == [
        ("pre_reminder", "email", -7),
        ("reminder_1", "email", 3),
        ("reminder_2", "letter", 15),
        ("formal_notice", "registered_letter", 30),
    ]
    assert policy["formal_notice_deadline_days"] == 8


def _policy(**overrides):
    body = {
        "name": "Gentle",
        "steps": [
            {"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 5},
            {
                "code": "notice",
                "kind": "formal_notice",
                "channel": "registered_letter",
                "offset_days": 45,
            },
        ],
        "formal_notice_deadline_days": 15,
    }
    body.update(overrides)
    return body


async def test_create_and_use_a_policy(client, tenant):
    created = await client.post("/v1/dunning-policies", json=_policy(), headers=tenant.headers)
    assert created.status_code == 201, created.text
    policy_id = created.json()["id"]
    assert (await client.get(f"/v1/dunning-policies/{policy_id}", headers=tenant.headers)).json()[
        "name"
    ] == "Gentle"
    listed = (await client.get("/v1/dunning-policies", headers=tenant.headers)).json()["data"]
    assert [p["id"] for p in listed] == [policy_id]
    made = await ledger(client, tenant, issue_date="2026-03-01", due_date="2026-03-31")
    patched = await client.patch(
        f"/v1/creditors/{made['creditor']['id']}",
        json={"dunning_policy_id": policy_id},
        headers=tenant.headers,
    )
    assert patched.status_code == 200


@pytest.mark.parametrize(
    ("steps", "deadline", "needle"),
    [
        (
            [
                {"code": f"r{i}", "kind": "reminder", "channel": "email", "offset_days": i}
                for i in range(1, 5)
            ],
            8,
            "cap of 3",
        ),
        (
            [{"code": "n", "kind": "formal_notice", "channel": "email", "offset_days": 30}],
            8,
            "registered",
        ),
        (
            [
                {
                    "code": "n",
                    "kind": "formal_notice",
                    "channel": "registered_letter",
                    "offset_days": 30,
                }
            ],
            20,
            "15",
        ),
    ],
)
async def test_policy_breaking_the_rules_is_422_with_the_reason(
    client, tenant, steps, deadline, needle
):
    response = await client.post(
        "/v1/dunning-policies",
        json=_policy(steps=steps, formal_notice_deadline_days=deadline),
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    assert needle in response.text


async def test_policy_isolation(client, tenant, other_tenant):
    created = (
        await client.post("/v1/dunning-policies", json=_policy(), headers=tenant.headers)
    ).json()
    assert (
        await client.get(f"/v1/dunning-policies/{created['id']}", headers=other_tenant.headers)
    ).status_code == 404
    made = await ledger(client, other_tenant)
    response = await client.patch(
        f"/v1/creditors/{made['creditor']['id']}",
        json={"dunning_policy_id": created["id"]},
        headers=other_tenant.headers,
    )
    assert response.status_code == 422


async def test_a_policy_follows_the_creditors_holiday_calendar(client, tenant, clock):
    """Good Friday (3 April 2026) is a public holiday in Moselle, not in the rest of France: a
    step falling on it moves to the next business day there (Tuesday 7, after Easter Monday)."""
    clock.set(dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC))
    reminder = {"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 3}
    planned = {}
    for subdivision in (None, "57"):
        created = await client.post(
            "/v1/dunning-policies",
            json=_policy(steps=[reminder], holiday_subdivision=subdivision),
            headers=tenant.headers,
        )
        assert created.status_code == 201, created.text
        assert created.json()["holiday_subdivision"] == subdivision
        made = await ledger(client, tenant, issue_date="2026-03-01", due_date="2026-03-31")
        patched = await client.patch(
            f"/v1/creditors/{made['creditor']['id']}",
            json={"dunning_policy_id": created.json()["id"]},
            headers=tenant.headers,
        )
        assert patched.status_code == 200, patched.text
        timeline = (
            await client.get(
                f"/v1/invoices/{made['invoice']['id']}/timeline", headers=tenant.headers
            )
        ).json()
        [planned[subdivision]] = [i["date"] for i in timeline["items"] if i["code"] == "reminder_1"]
    assert planned == {None: "2026-04-03", "57": "2026-04-07"}
    unknown = await client.post(
        "/v1/dunning-policies",
        json=_policy(holiday_subdivision="Bavaria"),
        headers=tenant.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "holiday_subdivision"]


async def test_timeline_shows_the_four_default_steps_on_business_days(client, tenant, clock):
    # Due Saturday 11 July 2026: reminder 1 (D+3) is 14 July, Bastille Day -> Wednesday 15;
    # reminder 2 (D+15) is Sunday 26 -> Monday 27; formal notice D+30 = Monday 10 August;
    # pre-reminder D-7 = Saturday 4 July -> Monday 6.
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await ledger(
        client, tenant, issue_date="2026-06-11", due_date="2026-07-11", amount="5000.00"
    )
    timeline = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}/timeline", headers=tenant.headers)
    ).json()
    planned = {
        i["code"] or i["type"]: i["date"] for i in timeline["items"] if i["kind"] == "planned"
    }
    assert planned["pre_reminder"] == "2026-07-06"
    assert planned["reminder_1"] == "2026-07-15"
    assert planned["reminder_2"] == "2026-07-27"
    assert planned["formal_notice"] == "2026-08-10"
    assert planned["invoice.overdue"] == "2026-07-12"
    next_at = dt.datetime.fromisoformat(made["invoice"]["dunning"]["next_action_at"])
    assert next_at == dt.datetime(2026, 7, 6, tzinfo=ZoneInfo("Europe/Paris"))  # local midnight
    assert made["invoice"]["limitation_ends_on"] == "2031-07-11"


async def _action(client, tenant, invoice_id, **body):
    return await client.post(
        f"/v1/invoices/{invoice_id}/actions", json=body, headers=tenant.headers
    )


async def test_contacts_beyond_the_caps_are_409_unless_overridden(client, tenant):
    made = await ledger(client, tenant, due_date="2026-02-01")
    invoice_id = made["invoice"]["id"]
    for day in ("2026-02-10", "2026-02-12", "2026-02-14"):
        ok = await _action(
            client, tenant, invoice_id, type="reminder", channel="email", performed_at=day + NOON
        )
        assert ok.status_code == 201, ok.text
    fourth = await _action(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="email",
        performed_at="2026-02-16" + NOON,
    )
    assert fourth.status_code == 409
    assert "cap of 3" in fourth.json()["detail"]
    no_note = await _action(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="email",
        performed_at="2026-02-16" + NOON,
        override=True,
    )
    assert no_note.status_code == 422
    forced = await _action(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="email",
        performed_at="2026-02-16" + NOON,
        override=True,
        note="the debtor asked for a copy",
    )
    assert forced.status_code == 201
    # Other channels have their own caps; notes are not contacts.
    assert (
        await _action(
            client, tenant, invoice_id, type="phone_call", performed_at="2026-02-17" + NOON
        )
    ).status_code == 201
    assert (
        await _action(
            client, tenant, invoice_id, type="note", performed_at="2026-02-17" + NOON, note="x"
        )
    ).status_code == 201
    url = f"/v1/invoices/{invoice_id}/actions"
    listed = (await client.get(url, headers=tenant.headers)).json()["data"]
    assert [a["type"] for a in listed] == ["reminder"] * 4 + ["phone_call", "note"]
    assert listed[4]["channel"] == "phone"
    # Cursor pagination, as every list.
    first = (await client.get(url, params={"limit": 4}, headers=tenant.headers)).json()
    assert first["has_more"] is True
    rest = await client.get(
        url, params={"limit": 4, "cursor": first["next_cursor"]}, headers=tenant.headers
    )
    assert [a["id"] for a in first["data"] + rest.json()["data"]] == [a["id"] for a in listed]
    assert rest.json()["has_more"] is False


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "formal_notice", "channel": "email", "proof": {"tracking_number": "1A"}}, 422),
        ({"type": "formal_notice", "channel": "registered_letter"}, 422),
        (
            {
                "type": "formal_notice",
                "channel": "registered_letter",
                "proof": {"tracking_number": "1A00123"},
            },
            201,
        ),
        (
            {
                "type": "formal_notice",
                "channel": "commissaire_de_justice",
                "proof": {"tracking_number": "ACTE-9"},
            },
            201,
        ),
        ({"type": "promise_to_pay"}, 422),
        ({"type": "reminder", "channel": "email", "promised_date": "2026-03-10"}, 422),
        ({"type": "teleport"}, 422),
        ({"type": "reminder", "channel": "pigeon"}, 422),
    ],
)
async def test_action_rules(client, tenant, body, status):
    made = await ledger(client, tenant, due_date="2026-02-01")
    response = await _action(
        client, tenant, made["invoice"]["id"], performed_at="2026-02-20" + NOON, **body
    )
    assert response.status_code == status, response.text


async def test_action_in_the_future_is_422(client, tenant):
    made = await ledger(client, tenant)
    response = await _action(
        client, tenant, made["invoice"]["id"], type="note", performed_at="2027-01-01T00:00:00Z"
    )
    assert response.status_code == 422


async def test_formal_notice_deadline_runs_from_the_ar(client, tenant, clock):
    made = await ledger(client, tenant, due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    sent = await _action(
        client,
        tenant,
        invoice_id,
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-02-20" + NOON,
        proof={"tracking_number": "1A00123"},
    )
    assert sent.status_code == 201
    invoice = (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()
    assert invoice["dunning"]["stage"] == "formal_notice_sent"
    assert invoice["dunning"]["formal_notice_deadline"] is None  # waiting for the AR
    patched = await client.patch(
        f"/v1/actions/{sent.json()['id']}",
        json={"proof": {"acknowledged_at": "2026-02-23"}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    invoice = (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()
    # 23 Feb + 8 days = Tuesday 3 March.
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-03-03"
    rewrite = await client.patch(
        f"/v1/actions/{sent.json()['id']}",
        json={"proof": {"acknowledged_at": "2026-02-24"}},
        headers=tenant.headers,
    )
    assert rewrite.status_code == 409
    before_sending = await client.patch(
        f"/v1/actions/{sent.json()['id']}",
        json={"proof": {"presented_at": "2026-02-19"}},
        headers=tenant.headers,
    )
    assert before_sending.status_code == 422


async def test_formal_notice_deadline_on_a_weekend_extends(client, tenant):
    made = await ledger(client, tenant, due_date="2026-01-15")
    sent = await _action(
        client,
        tenant,
        made["invoice"]["id"],
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-02-18" + NOON,
        proof={"tracking_number": "1A", "presented_at": "2026-02-20"},
    )
    assert sent.status_code == 201
    invoice = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    ).json()
    # 20 Feb + 8 = Saturday 28 Feb -> Monday 2 March.
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-03-02"


async def test_promise_to_pay_pauses(client, tenant, admin_headers):
    made = await ledger(client, tenant, due_date="2026-02-01")
    response = await _action(
        client,
        tenant,
        made["invoice"]["id"],
        type="promise_to_pay",
        channel="phone",
        performed_at="2026-03-01" + NOON,
        promised_date="2026-03-10",
    )
    assert response.status_code == 201, response.text
    invoice = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    ).json()
    assert invoice["dunning"]["paused_reason"] == "promise_to_pay"
    # Nothing escalates while paused; the only thing due is the overdue fact.
    timeline = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}/timeline", headers=tenant.headers)
    ).json()
    assert [i["type"] for i in timeline["items"] if i["kind"] == "due"] == ["invoice.overdue"]
    assert not [i for i in timeline["items"] if i["kind"] == "planned" and i["code"]]
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T09:00:00Z"}, headers=admin_headers
    )
    assert swept.json()["events_by_type"] == {"invoice.overdue": 1}
    invoice = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    ).json()
    # The sweep looks again the day after the promised date + 3 days of grace.
    next_at = dt.datetime.fromisoformat(invoice["dunning"]["next_action_at"])
    assert next_at == dt.datetime(2026, 3, 14, tzinfo=ZoneInfo("Europe/Paris"))


async def test_insolvency_pauses_every_invoice_of_the_debtor(client, tenant):
    made = await ledger(client, tenant, due_date="2026-02-01")
    response = await client.patch(
        f"/v1/debtors/{made['debtor']['id']}",
        json={"insolvency": {"procedure": "liquidation_judiciaire", "opened_on": "2026-02-20"}},
        headers=tenant.headers,
    )
    assert response.status_code == 200
    invoice = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    ).json()
    assert invoice["dunning"]["paused"] is True
    assert invoice["dunning"]["paused_reason"] == "insolvency"


async def test_payment_plan_pauses_and_is_validated(client, tenant):
    made = await ledger(client, tenant, amount="900.00", due_date="2026-02-01")
    url = f"/v1/invoices/{made['invoice']['id']}/payment-plan"
    wrong_sum = {"installments": [{"due_date": "2026-03-10", "amount": "100.00"}]}
    assert (await client.post(url, json=wrong_sum, headers=tenant.headers)).status_code == 422
    unordered = {
        "installments": [
            {"due_date": "2026-04-10", "amount": "450.00"},
            {"due_date": "2026-03-10", "amount": "450.00"},
        ]
    }
    assert (await client.post(url, json=unordered, headers=tenant.headers)).status_code == 422
    plan = {
        "installments": [
            {"due_date": "2026-03-10", "amount": "450.00"},
            {"due_date": "2026-04-10", "amount": "450.00"},
        ]
    }
    created = await client.post(url, json=plan, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert [i["status"] for i in created.json()["installments"]] == ["due", "due"]
    invoice = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    ).json()
    assert invoice["dunning"]["paused_reason"] == "payment_plan"
    fetched = await client.get(url, headers=tenant.headers)
    assert fetched.json()["on_track"] is True


async def test_documents(client, tenant, other_tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}/documents"
    created = await client.post(
        url,
        json={"kind": "signed_quote", "reference": "DEV-12", "date": "2026-01-02"},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    assert (
        await client.post(url, json={"kind": "selfie"}, headers=tenant.headers)
    ).status_code == 422
    listed = (await client.get(url, headers=tenant.headers)).json()
    assert [d["kind"] for d in listed["data"]] == ["signed_quote"]
    assert (listed["has_more"], listed["next_cursor"]) == (False, None)
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404


async def test_actions_isolation(client, tenant, other_tenant):
    made = await ledger(client, tenant)
    action = (
        await _action(
            client,
            tenant,
            made["invoice"]["id"],
            type="note",
            performed_at="2026-02-20" + NOON,
            note="x",
        )
    ).json()
    assert (
        await client.get(f"/v1/actions/{action['id']}", headers=other_tenant.headers)
    ).status_code == 404
    assert (
        await client.patch(
            f"/v1/actions/{action['id']}", json={"note": "y"}, headers=other_tenant.headers
        )
    ).status_code == 404
    assert (
        await _action(
            client,
            other_tenant,
            made["invoice"]["id"],
            type="note",
            performed_at="2026-02-20" + NOON,
        )
    ).status_code == 404
    assert (
        await client.get(
            f"/v1/invoices/{made['invoice']['id']}/timeline", headers=other_tenant.headers
        )
    ).status_code == 404


async def test_an_action_answers_its_time_in_utc_as_it_is_stored(client, tenant):
    invoice_id = (await ledger(client, tenant, issue_date="2026-01-05"))["invoice"]["id"]
    made = await client.post(
        f"/v1/invoices/{invoice_id}/actions",
        json={"type": "phone_call", "performed_at": "2026-02-20T10:00:00+01:00"},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["performed_at"] == "2026-02-20T09:00:00Z"
    assert made.json()["created_at"] is not None
    read = await client.get(f"/v1/actions/{made.json()['id']}", headers=tenant.headers)
    assert read.json() == made.json(), "the create answers what a read answers"
