"""Commands (load → decide → append) and queries of the safety service."""
