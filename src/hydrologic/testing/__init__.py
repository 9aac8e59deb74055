"""Helpers for testing services built with hydrologic (or any other service): a
linearizability checker for recorded client histories (``hydrologic.testing.linearizability``).

Nothing here imports the rest of the package: it is plain Python over recorded operations.
"""
