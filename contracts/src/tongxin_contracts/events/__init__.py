"""Integration events, one module per producing service."""
