"""The registry's use cases: load → decide → append, imports, queries."""
