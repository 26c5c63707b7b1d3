"""HTTP API, worker and command of the wellbeing service."""
