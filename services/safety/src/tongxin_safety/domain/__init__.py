"""Pure rules of the safety service: deciders, refusals, calendars (no I/O, no clock)."""
