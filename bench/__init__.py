"""Benchmarks of rtpe-jax, run from the repository root as modules:
`python -m bench.run_all`, `python -m bench.grouping`, ... (bench/common.py holds
the one timer and the machine description they share)."""
