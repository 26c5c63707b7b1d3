"""Tongxin platform: the mechanics every service shares.

Event store with optimistic concurrency and hash chains, transactional outbox and relay,
consumer runtime with offsets stored beside effects, per-subject encryption, telemetry,
migrations and settings. Nothing here knows a service.
"""
