"""Benchmarks and synthetic data generators."""
