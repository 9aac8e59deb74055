"""Async user functions on a deployed location: run on its own event loop, beside its ticks.

``resolve_futures`` starts each awaitable as a task and the task's completion is delivered to the
operator's inbox like a message, so the location keeps ticking on other input while calls are
in flight (at most ``max_in_flight`` per operator). ``source_stream`` is pumped by a task that
waits, like a timer, while the location is behind on its input. ``dest_sink`` hands elements to
one task per sink that awaits the user's function on each, in order.

An exception from any of them stops the location as a raising user function does (HL601).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from typing import TYPE_CHECKING, Any, Awaitable

from ..runtime.ops.asyncs import AsyncHost, DestSink, ResolveFutures, SourceStream, async_ops
from ..types.errors import UserFunctionError

if TYPE_CHECKING:
    from .node import LocationNode

__all__ = ["NodeAsyncHost"]

log = logging.getLogger("hydrologic.deploy")


class NodeAsyncHost(AsyncHost):
    """The async host of one deployed location instance (``deploy/node.py`` installs it)."""

    def __init__(self, node: LocationNode) -> None:
        self.node = node
        self.tasks: set[asyncio.Future[Any]] = set()
        self.sinks: dict[int, tuple[collections.deque[Any], asyncio.Event]] = {}
        self.ops = async_ops(node.rt.ops.values())
        for op in self.ops:
            op.host = self

    def start(self) -> None:
        """Start the pumps of ``source_stream`` and the writers of ``dest_sink`` (the loop runs)."""
        for op in self.ops:
            if isinstance(op, SourceStream):
                op.pumped = True
                self._spawn(self._pump(op))
            elif isinstance(op, DestSink):
                queue: collections.deque[Any] = collections.deque()
                ready = asyncio.Event()
                self.sinks[op.node.id] = (queue, ready)
                self._spawn(self._write(op, queue, ready))

    def stop(self) -> None:
        for t in list(self.tasks):
            t.cancel()

    def _spawn(self, aw: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(aw)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _fail(self, op: Any, e: BaseException) -> None:
        node = self.node
        err = UserFunctionError(op.node.method, op.node.site, node.label, e)
        if node.failed is None:
            node.failed = err
            log.error("%s stopped: %s", node.label, err, exc_info=e)
        node.done.set()

    # ---- resolve_futures ------------------------------------------------------------------------

    def step(self, op: ResolveFutures, started: list[tuple[int, Awaitable[Any]]]) -> None:
        for seq, aw in started:
            self._spawn(aw).add_done_callback(functools.partial(self._completed, op, seq))

    def _completed(self, op: ResolveFutures, seq: int, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            return
        e = task.exception()
        self.node.deliver_completion(op.node.id, (seq, e is None, task.result() if e is None else e))

    # ---- source_stream --------------------------------------------------------------------------

    async def _pump(self, op: SourceStream) -> None:
        try:
            async for item in op.iterator():
                await self.node.gate()
                self.node.deliver_completion(op.node.id, item)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._fail(op, e)

    # ---- dest_sink ------------------------------------------------------------------------------

    def sink(self, op: DestSink, items: list[Any]) -> None:
        queue, ready = self.sinks[op.node.id]
        queue.extend(items)
        ready.set()

    async def _write(self, op: DestSink, queue: collections.deque[Any], ready: asyncio.Event) -> None:
        f = op.f
        try:
            while True:
                while queue:
                    await f(queue.popleft())
                ready.clear()
                await ready.wait()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._fail(op, e)
