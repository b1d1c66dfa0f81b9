"""The benchmark scenarios of benchmarks/fanout.py, one module each."""
