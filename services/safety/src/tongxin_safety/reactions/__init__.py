"""Reactions of the safety service to other services' events (and its own)."""
