"""Benchmarks of the whole data path (``python -m benchmarks``) and of its parts (``micro``).

Nothing here is imported by the relay or by its tests; timings live here, never in tests.
"""
