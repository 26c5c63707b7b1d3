"""The safety read model: one projection whose tables each part declares."""
