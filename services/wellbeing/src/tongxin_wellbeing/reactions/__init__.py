"""Wellbeing's answers to other services' events (and to its own, for alerts)."""
