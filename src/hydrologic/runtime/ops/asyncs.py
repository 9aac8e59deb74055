"""Async user functions: awaitables resolved by ``resolve_futures``, an async iterator as a
source (``source_stream``) and an async function as a sink (``dest_sink``).

A tick is synchronous, so an operator never awaits anything itself. It hands its awaitables to
an ``AsyncHost``, which the driver chooses:

- ``AsyncHost`` (this module, the default; in-process runs): awaits them on one background
  event loop thread and blocks until they are done, so an in-process run stays a plain loop;
- the deployed location's host (``deploy/node.py``) runs them as tasks on the location's own
  event loop, concurrently with its ticks, and delivers each result into the operator's inbox
  when it completes;
- the simulator's host (``sim/_async.py``) awaits each one to completion at once and chooses,
  as a decision, which of the in-flight futures completes next.

Completions travel as ``(seq, ok, value)``: ``seq`` numbers the awaitables of one operator in
input order, ``ok`` is False when the awaitable raised ``value``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterable, TypeVar

from ...ir.node import Node
from .base import Fn, Inbox, Op, RuntimeContext, op

__all__ = ["AsyncHost", "AsyncOp", "DestSink", "ResolveFutures", "ResolveFuturesBlocking", "SourceStream", "async_ops", "run_on_background_loop"]

_T = TypeVar("_T")
Completion = tuple[int, bool, Any]


class _BackgroundLoop:
    """One event loop on a daemon thread, shared by every default host of this process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="hydrologic-async", daemon=True)
        self.thread.start()


_background: _BackgroundLoop | None = None
_background_lock = threading.Lock()


def run_on_background_loop(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on the process's background event loop and wait for its result.

    A tick may run inside an event loop (a deployed location) or outside any (in-process), and
    ``asyncio.run`` works only in the second case; a loop of our own on its own thread works in
    both, and keeps one loop for a whole run, so clients opened by one call serve the next.
    """
    global _background
    with _background_lock:
        if _background is None:
            _background = _BackgroundLoop()
        bg = _background
    return asyncio.run_coroutine_threadsafe(coro, bg.loop).result()


def _awaitable(x: Any, node: Node) -> Awaitable[Any]:
    if not inspect.isawaitable(x):
        raise TypeError(
            f"`{node.method}` got {x!r} ({type(x).__name__}), which is not awaitable: map each element "
            "with an `async def` function first (stream.map(fetch), where `async def fetch(x): ...`)"
        )
    return x


async def _settle(aw: Awaitable[Any]) -> tuple[bool, Any]:
    try:
        return True, await aw
    except Exception as e:  # the user's error, reported by the operator that owns the awaitable
        return False, e


async def _in_completion_order(started: list[tuple[int, Awaitable[Any]]]) -> list[Completion]:
    done: list[Completion] = []

    async def one(seq: int, aw: Awaitable[Any]) -> None:
        ok, value = await _settle(aw)
        done.append((seq, ok, value))

    await asyncio.gather(*(one(seq, aw) for seq, aw in started))
    return done


async def _bounded_in_order(aws: list[Awaitable[Any]], limit: int) -> list[tuple[bool, Any]]:
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[Any]) -> tuple[bool, Any]:
        async with gate:
            return await _settle(aw)

    return list(await asyncio.gather(*(one(aw) for aw in aws)))


async def _next(it: AsyncIterator[Any]) -> tuple[bool, Any]:
    try:
        return True, await it.__anext__()
    except StopAsyncIteration:
        return False, None


async def _send_all(f: Callable[[Any], Awaitable[object]], items: list[Any]) -> None:
    for x in items:
        await f(x)


class AsyncHost:
    """Runs the awaitables of the async operators of one location instance.

    This default awaits them on the background loop and blocks until they are done: the
    futures ``resolve_futures`` starts together run concurrently, and their results reach the
    operator in the order they complete, before the next tick.
    """

    def step(self, op: ResolveFutures, started: list[tuple[int, Awaitable[Any]]]) -> None:
        """Called at the end of each run of ``op`` with the awaitables it started (maybe none):
        completions go into ``op.pending``, now or later."""
        if started:
            op.pending.extend(run_on_background_loop(_in_completion_order(started)))

    def next_item(self, op: SourceStream) -> tuple[bool, Any]:
        """The source's next item, ``(False, None)`` once it is exhausted."""
        return run_on_background_loop(_next(op.iterator()))

    def sink(self, op: DestSink, items: list[Any]) -> None:
        run_on_background_loop(_send_all(op.f, items))

    def block(self, aws: list[Awaitable[Any]], limit: int) -> list[tuple[bool, Any]]:
        """Every awaitable's outcome, in input order, at most ``limit`` running at a time."""
        return run_on_background_loop(_bounded_in_order(aws, limit))


DEFAULT_HOST = AsyncHost()


class AsyncOp(Op):
    """An operator whose user functions are async: it runs them through ``host``."""

    user_fn = True
    host: AsyncHost = DEFAULT_HOST


@op("resolve_futures")
class ResolveFutures(AsyncOp, Inbox):
    """Starts at most ``max_in_flight`` awaitables at a time; its inbox receives completions.

    Unordered: each result is emitted in the tick after it completes. Ordered: a result waits
    until every earlier awaitable's result has been emitted.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.ordered: bool = node.params["ordered"]
        self.limit: int = node.params["max_in_flight"]
        self.queue: collections.deque[tuple[int, Awaitable[Any]]] = collections.deque()
        self.next_seq = 0
        self.in_flight = 0
        self.waiting: dict[int, Any] = {}  # ordered: results that wait for an earlier one
        self.next_out = 0

    def run(self, ins: list[Any]) -> list[Any]:
        node = self.node
        for x in ins[0]:
            self.queue.append((self.next_seq, _awaitable(x, node)))
            self.next_seq += 1
        out: list[Any] = []
        completions: list[Completion]
        completions, self.pending = self.pending, []
        for seq, ok, value in completions:
            self.in_flight -= 1
            if not ok:
                raise value
            if self.ordered:
                self.waiting[seq] = value
            else:
                out.append(value)
        if self.ordered:
            while self.next_out in self.waiting:
                out.append(self.waiting.pop(self.next_out))
                self.next_out += 1
        started: list[tuple[int, Awaitable[Any]]] = []
        while self.queue and self.in_flight < self.limit:
            started.append(self.queue.popleft())
            self.in_flight += 1
        self.host.step(self, started)
        return out

    def idle(self) -> bool:
        """Nothing queued or running: every awaitable it was given has been emitted."""
        return not self.queue and not self.in_flight and not self.pending


@op("resolve_futures_blocking")
class ResolveFuturesBlocking(AsyncOp):
    """Awaits every awaitable of the batch before returning their results, in input order."""

    idle_noop = True

    def run(self, ins: list[Any]) -> list[Any]:
        aws = [_awaitable(x, self.node) for x in ins[0]]
        if not aws:
            return []
        out: list[Any] = []
        for ok, value in self.host.block(aws, self.node.params["max_in_flight"]):
            if not ok:
                raise value
            out.append(value)
        return out


@op("source_stream")
class SourceStream(AsyncOp, Inbox):
    """The items of the user's async iterator.

    Pulled one item per tick by default (so an in-process run or a simulation ends when the
    iterator does); a deployed location instead sets ``pumped`` and feeds the inbox from a task.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.make: Callable[[], Any] = node.params["f"]
        self._it: AsyncIterator[Any] | None = None
        self.exhausted = False
        self.pumped = False

    def iterator(self) -> AsyncIterator[Any]:
        """The async iterator, made by the user's function the first time it is needed."""
        it = self._it
        if it is None:
            made = self.make()
            if not hasattr(made, "__aiter__"):
                raise TypeError(
                    f"the function given to `source_stream` returned {type(made).__name__}, not an async iterable "
                    "(write it as `async def gen(): ... yield item`, and pass `gen` itself)"
                )
            it = self._it = made.__aiter__()
        return it

    def run(self, ins: list[Any]) -> list[Any]:
        out, self.pending = self.pending, []
        if not self.pumped and not self.exhausted:
            ok, item = self.host.next_item(self)
            if ok:
                self.pending.append(item)
            else:
                self.exhausted = True
        return out


@op("dest_sink")
class DestSink(AsyncOp, Fn):
    """Hands each element, in order, to the user's async function (awaited one at a time)."""

    idle_noop = True

    def run(self, ins: list[Any]) -> list[Any]:
        items = list(ins[0])
        if items:
            self.host.sink(self, items)
        return []


def async_ops(ops: Iterable[Op]) -> list[AsyncOp]:
    """The async operators among ``ops`` (a driver installs its host on each)."""
    return [o for o in ops if isinstance(o, AsyncOp)]
