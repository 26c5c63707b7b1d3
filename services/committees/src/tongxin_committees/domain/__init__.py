"""Pure rules of the committees service: deciders, refusals, calendars (no I/O, no clock)."""
