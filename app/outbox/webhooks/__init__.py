"""Webhook delivery: Standard Webhooks signing, SSRF-safe endpoint URLs and the retry schedule."""
