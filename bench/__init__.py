"""Benchmarks of msgops: latency over the REST channel, cold start, training time, NLU scores.

Run everything with `make bench` (or `.venv/bin/python -m bench.run_all --help`).
"""
