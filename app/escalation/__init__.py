"""Dunning escalation: policies (what to send when) and the pure engine that schedules them."""
