"""Read models built by consuming ``registry.events``."""
