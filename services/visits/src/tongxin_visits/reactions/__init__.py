"""The visits service's reactions to other services' events (its own consumer groups)."""
