"""The shared core of the benchmarks: servers under test, load clients, the machine,
statistics and report formatting."""
