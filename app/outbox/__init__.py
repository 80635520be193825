"""The transactional outbox: events (written with the state change that causes them) and
their webhook deliveries (claim, send, backoff, signing, URL safety)."""
