"""The committees read model: one projection whose tables each part declares."""
