"""Tongxin visits service (家访)."""
