"""Benchmarks: scenarios, a runner that samples in randomized rounds, seeded bootstrap statistics,
comparison of two runs, and results as versioned frozen data."""
