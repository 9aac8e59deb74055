"""Transport: frames, codecs, the HMAC handshake, internal channels and External ports.

Layering: ``net`` may import ``types``, ``ir``, ``lang`` and ``runtime``; only ``deploy`` (and
higher layers) import ``net``. See docs/deployment.md for the wire format and fault semantics.
"""

from .client import (
    DuplexClient as DuplexClient,
    InputClient as InputClient,
    OutputClient as OutputClient,
    PortClient as PortClient,
    connect_bidi as connect_bidi,
    connect_input as connect_input,
    connect_output as connect_output,
)
from .resp import RespError as RespError
from .external_codec import ExternalCodec as ExternalCodec
from .framing import pack_frame as pack_frame
from .errors import AuthError as AuthError, CodecError as CodecError, FrameError as FrameError, NetError as NetError

__all__ = [
    "DuplexClient",
    "connect_bidi",
    "InputClient",
    "OutputClient",
    "PortClient",
    "connect_input",
    "connect_output",
    "AuthError",
    "CodecError",
    "FrameError",
    "NetError",
    "RespError",
    "ExternalCodec",
    "pack_frame",
]
