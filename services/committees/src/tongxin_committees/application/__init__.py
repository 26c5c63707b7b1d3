"""Commands (load → decide → append) and queries of the committees service."""
