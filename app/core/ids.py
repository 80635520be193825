"""Opaque, time-ordered ids with a type prefix (`inv_01J...`): sortable, so lists can page by id."""

from __future__ import annotations

from ulid import ULID


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"
