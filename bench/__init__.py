"""Benchmarks (`make bench`): measured against baselines in the same run, never in tests."""
