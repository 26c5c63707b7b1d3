"""Tongxin committees service (家长委员会 · 家长学校)."""
