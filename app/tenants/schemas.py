from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Facturo SaaS - client Dupont SARL"])
    sandbox: bool = Field(
        default=False,
        description="A sandbox tenant lives at its own test clock, starting at the real now and "
        "standing still until `POST /v1/test-clock/advance` moves it (the scheduler never "
        "does): walk an invoice through weeks of dunning in a minute. Cannot be changed later.",
        examples=[True],
    )


class TenantCreated(BaseModel):
    """The tenant and its first API key. The key is shown here only: store it now."""

    id: str
    name: str
    api_key: str
    sandbox: bool = Field(description="A sandbox tenant, at its own test clock")


class ApiKeyCreated(BaseModel):
    """A new API key. The key is shown here only: store it now."""

    id: str
    tenant_id: str
    prefix: str
    api_key: str
    created_at: dt.datetime


class TenantOut(BaseModel):
    id: str
    name: str
    sandbox: bool = Field(
        description="A sandbox tenant, at its own test clock (GET /v1/test-clock)"
    )
    created_at: dt.datetime
