"""Benchmarks: each prints figures next to a reference measured in the same run (``make bench``)."""
