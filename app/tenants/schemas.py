from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Facturo SaaS - client Dupont SARL"])


class TenantCreated(BaseModel):
    """The tenant and its first API key. The key is shown here only: store it now."""

    id: str
    name: str
    api_key: str


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
    created_at: dt.datetime
