"""SQL migrations of the safety service's own tables (beyond the kit's)."""
