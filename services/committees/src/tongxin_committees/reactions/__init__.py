"""Reactions of the committees service to other services' events."""
