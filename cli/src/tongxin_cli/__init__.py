"""The tongxin operator command."""
