"""Tongxin safety service (护平安 警校同步)."""
