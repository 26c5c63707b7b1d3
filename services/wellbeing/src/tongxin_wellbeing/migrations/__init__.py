"""Numbered SQL migrations of the wellbeing service's own tables."""
