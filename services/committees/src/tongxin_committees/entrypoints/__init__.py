"""HTTP API, worker and command of the committees service."""
