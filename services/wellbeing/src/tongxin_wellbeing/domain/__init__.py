"""Pure rules of wellbeing: no I/O, no clock, no ids (they are parameters)."""
