"""Benchmarks at national scale: `python -m bench` (see README, Performance)."""
