"""The OpenAPI document exactly as the app serves it, for `relance openapi` and `make openapi`."""

from __future__ import annotations

import json

from app.core.settings import Settings


def openapi_json() -> str:
    from app.main import create_app

    app = create_app(Settings(scheduler_enabled=False))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
