"""Claims: what an overdue invoice is worth on a given day, the debtor's statement, the
letters and the readiness for court. Built on app.legal (interest, rates) and the escalation
(the formal notice starts consumer interest)."""
