"""Benchmark scripts; run each as `python -m bench.<name>`."""
