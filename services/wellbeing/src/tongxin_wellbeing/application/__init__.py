"""Wellbeing commands and queries: load → decide → append on the kit's units of work."""
