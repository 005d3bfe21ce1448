"""Benchmarks: openlytics end to end against the raw engine, measured in the same run."""
