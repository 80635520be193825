"""Relance: debt-recovery (recouvrement de créances) service for the French market."""

__version__ = "0.1.0"
