"""The runtime layer: batch operators, the per-location tick engine, and the in-process driver."""

from .inprocess import InProcessRun as InProcessRun
from .tick import LocationRuntime as LocationRuntime
