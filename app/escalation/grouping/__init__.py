"""One reminder per debtor: a policy with `grouping: "debtor"` sends the reminder and formal
notice steps of all of a debtor's open invoices together (API.md "One reminder per debtor")."""
