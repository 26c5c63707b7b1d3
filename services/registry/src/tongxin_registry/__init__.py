"""Tongxin registry service."""
