"""A transaction PostgreSQL rolled back is answered 503, to retry (app.core.errors); the other
database errors are in tests/reliability/test_faults.py."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from app.core.errors import unexpected_error_response
from tests.reliability.test_faults import DriverError


@pytest.mark.parametrize(
    ("message", "sqlstate"),
    [("deadlock detected", "40P01"), ("could not serialize access", "40001")],
)
def test_a_transaction_the_database_rolled_back_answers_503_to_retry(message, sqlstate):
    error = DBAPIError("UPDATE invoices", None, DriverError(message, sqlstate))
    response = unexpected_error_response(error, "POST", "/v1/invoices/batch")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.media_type == "application/problem+json"
    assert b"nothing was done, retry" in bytes(response.body)
