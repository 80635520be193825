"""The e-invoice reader on its own: whatever the bytes, it answers an invoice or a reason, never
another error (which the API would turn into a 500)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger.invoices.einvoice import UnreadableEInvoice, read_einvoice
from tests.einvoice_files import cii_xml, facturx_pdf, ubl_xml

PDF = facturx_pdf()
SAMPLES = [PDF, cii_xml(), ubl_xml()]


def _read(body: bytes) -> None:
    """Read `body`; any error but the 422 with its reason fails the test."""
    try:
        read_einvoice(body)
    except UnreadableEInvoice as exc:
        reason = exc.detail
    else:
        return
    assert reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(SAMPLES),
    cut=st.floats(min_value=0, max_value=1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
)
def test_damaged_files_are_unreadable_with_a_reason(sample, cut, flips):
    body = bytearray(sample[: max(1, int(len(sample) * cut))] if cut < 1 else sample)
    for where, byte in flips:
        body[min(len(body) - 1, int(len(body) * where))] = byte
    _read(bytes(body))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_unreadable_with_a_reason(body):
    _read(body)
    _read(b"%PDF-1.7\n" + body)
    _read(b"<" + body)


def test_the_samples_are_read():
    assert read_einvoice(PDF).format == "facturx"
    assert read_einvoice(cii_xml()).amount_due == read_einvoice(PDF).amount_due
    assert read_einvoice(ubl_xml()).seller.siren == "732829320"


def test_a_ubl_invoice_without_its_currency_is_unreadable_with_a_reason():
    """factur-x raised KeyError('BT-5') on it (found by the damaged-files test above)."""
    body = ubl_xml().replace(b"DocumentCurrencyCode", b"DocumentCurrencyCodX")
    with pytest.raises(UnreadableEInvoice) as raised:
        read_einvoice(body)
    assert "cannot be read" in raised.value.detail
