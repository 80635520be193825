from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ClockOut(BaseModel):
    now: dt.datetime = Field(
        description='The sandbox tenant\'s current instant: its every "today" (future-date '
        "checks, default `as_of`, letters, `days_overdue`, reports, events' `created_at`). It "
        "stands still until advanced.",
        examples=["2026-03-02T09:00:00Z"],
    )


class AdvanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: AwareDatetime = Field(
        description="The instant to move the clock to (RFC 3339 with offset): not before the "
        "clock's `now` (422), at most 2200 days (about 6 years, past the 5-year commercial "
        "prescription) after it (422). The clock's own `now` is allowed: it sweeps what is due "
        "at the current instant.",
        examples=["2026-04-15T09:00:00+02:00"],
    )


class AdvanceResult(BaseModel):
    previous: dt.datetime = Field(description="The clock before the advance")
    now: dt.datetime = Field(description="The clock after the advance: `to`")
    days_stepped: int = Field(
        description="Local days the clock walked through (days between the local dates of "
        "`previous` and `now`), each swept at its own instant"
    )
    sweeps: int = Field(
        description="Sweeps run: one at `previous`, then one on each day something fell due "
        "(a day with nothing due has nothing to sweep)"
    )
    invoices_swept: int = Field(description="Invoices claimed by those sweeps, counted each day")
    events_created: int
    events_by_type: dict[str, int] = Field(
        description="Events emitted by the sweeps, by type",
        examples=[{"invoice.pre_reminder_due": 1, "invoice.overdue": 1}],
    )
    deliveries: dict[str, int] = Field(
        description="Webhook delivery attempts made after the walk for this tenant (real HTTP, "
        "for at most 10 s), by outcome; retries of a failed delivery follow the real time",
        examples=[{"succeeded": 3}],
    )
    deliveries_attempted: int = Field(description="The sum of `deliveries`")
