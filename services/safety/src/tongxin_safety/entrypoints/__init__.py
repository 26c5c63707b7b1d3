"""HTTP API, worker and command of the safety service."""
