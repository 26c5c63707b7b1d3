"""Tongxin agencies: what each agency sees, built from the streams, in a browser."""
