"""Unknown query parameters answer 422 instead of being silently ignored: a misspelt filter
(`?stauts=open`) would otherwise return the whole unfiltered list as if it were the answer.

Done once for the whole app, as a global dependency (`QUERY_PARAMS_GUARD`, given to `FastAPI(
dependencies=...)`): it runs first on every API route, before authentication. Each route's
declared query parameters are collected once, on its first request, into a frozenset. A request
without a query string costs one truthiness check; one with a query string a set difference over
its keys (Starlette parses them once per request; FastAPI reads the same parse afterwards).

The documentation routes (`/docs`, `/redoc`, `/openapi.json`: plain routes, or routes left out of
the schema) take whatever browsers and tools add there."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel

from app.core.errors import FieldError, Unprocessable

# Keys beyond this many are not named one by one (the query string is the client's).
_MAX_NAMED = 10

# id(route) -> (route, its declared names); the route is kept so its id is never reused.
_DECLARED: dict[int, tuple[object, frozenset[str]]] = {}


def declared_query_params(dependant: Dependant) -> frozenset[str]:
    """The query parameter names (aliases) a route and its sub-dependencies declare; a pydantic
    model used as `Query()` contributes its fields."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(f.alias or name for name, f in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)


def unknown_params(keys: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """The keys not in `allowed`, in order, each once."""
    return [key for key in dict.fromkeys(keys) if key not in allowed]


def _declared_by(route: object) -> frozenset[str] | None:
    """The route's declared query parameters; None for a route that is not an API route."""
    known = _DECLARED.get(id(route))
    if known is None:
        dependant = getattr(route, "dependant", None)
        # Not an API route, or one outside the API's contract (the doc pages, which take
        # whatever browsers and tools add there).
        if not isinstance(dependant, Dependant) or not getattr(route, "include_in_schema", True):
            return None
        known = (route, declared_query_params(dependant))
        _DECLARED[id(route)] = known
    return known[1]


async def reject_unknown_query_params(request: Request) -> None:
    """422 problem+json naming the query parameters the matched route does not declare."""
    if not request.scope.get("query_string"):
        return
    allowed = _declared_by(request.scope.get("route"))
    if allowed is None:
        return
    unknown = unknown_params(request.query_params.keys(), allowed)
    if unknown:
        raise _problem(unknown, allowed)


def _problem(unknown: list[str], allowed: frozenset[str]) -> Unprocessable:
    named = unknown[:_MAX_NAMED]
    more = len(unknown) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if more else "")
    known = ", ".join(sorted(allowed)) or "none"
    return Unprocessable(
        f"Unknown query parameter(s): {listed}. This route takes: {known}.",
        errors=[FieldError(loc=["query", key], msg="unknown query parameter") for key in named],
    )


QUERY_PARAMS_GUARD = Depends(reject_unknown_query_params)
