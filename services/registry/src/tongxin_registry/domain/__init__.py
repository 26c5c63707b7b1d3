"""The registry's pure domain: commands, state, deciders. No I/O, no clock, no ids made here."""
