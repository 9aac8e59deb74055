"""The language layer: locations, live collections, the graph builder and build-time checks."""

from .builder import GraphBuilder as GraphBuilder
from .channel import Channel as Channel
from .bidi import BidiClient as BidiClient, ClientId as ClientId, ExternalBidi as ExternalBidi, MembershipEvent as MembershipEvent
from .cycles import ForwardRef as ForwardRef, TickCycle as TickCycle
from .io import SimInput as SimInput, SimOutput as SimOutput, advance_time as advance_time, inject_liveness as inject_liveness
from .liveness import Liveness as Liveness, LivenessKind as LivenessKind
from .keyed_singleton import KeyedSingleton as KeyedSingleton
from .keyed_stream import KeyedStream as KeyedStream
from .location import (
    Atomic as Atomic,
    Cluster as Cluster,
    External as External,
    Location as Location,
    MemberId as MemberId,
    Process as Process,
    Tick as Tick,
    TopLevel as TopLevel,
)
from .singleton import Optional as Optional, Singleton as Singleton
from .sliced import Slice as Slice, SliceState as SliceState, sliced as sliced
from .stream import Stream as Stream
