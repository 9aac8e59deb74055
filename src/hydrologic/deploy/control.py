"""The launcher ↔ worker control protocol's constants (see ``worker.py`` for the exchange)."""

CONTROL = "@@hydrologic "
"""Prefix of the worker's control lines on stdout; every other line is program output."""

WORKER_MODULE = "hydrologic.deploy.worker"
