"""The ledger: creditors, debtors, invoices, payments, disputes and documents. A write ends
with `mark_invoice_changed`; the ledger never imports the escalation or the claims."""
