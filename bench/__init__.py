"""Benchmarks: scripts that print figures and assert nothing (`python -m bench.bench_workflow`)."""
