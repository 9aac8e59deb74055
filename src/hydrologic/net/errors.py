"""Errors of the network layer.

    HydroRuntimeError
     └── NetError              anything that went wrong on a connection
          ├── FrameError       a frame that cannot be read (too long, cut short)
          ├── CodecError       a payload that does not decode, or a value that cannot be encoded
          └── AuthError        a peer that did not prove it knows the deployment's secret

A ``NetError`` on one connection closes that connection and is logged; it never stops the
location process that saw it.
"""

from __future__ import annotations

from ..types.errors import HydroRuntimeError

__all__ = ["NetError", "FrameError", "CodecError", "AuthError"]


class NetError(HydroRuntimeError):
    """A connection-level failure (closes that connection, never the process)."""


class FrameError(NetError):
    """A frame that cannot be read: longer than the limit, or cut short by the peer."""


class CodecError(NetError):
    """A payload that does not decode, or a value its codec cannot carry."""


class AuthError(NetError):
    """A peer failed the HMAC challenge (wrong secret, bad magic, or too slow)."""
