"""Tongxin benchmarks: ``uv run python -m bench.run [--quick] [--json PATH]`` (see README.md)."""
