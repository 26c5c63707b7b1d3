"""SQL migrations of the committees service's own tables (beyond the kit's)."""
