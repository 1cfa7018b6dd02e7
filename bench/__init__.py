"""Benchmark harness: stage timings, peak memory, ratios to a DuckDB baseline."""
