"""The city's SQL migrations (numbered ``*.sql`` files, applied once in order)."""
