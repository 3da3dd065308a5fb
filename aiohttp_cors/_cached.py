"""``CachedOrigins``: allowed origins kept elsewhere (a database), asked once and
remembered for a while.

A configuration key like a predicate: the engine asks it only for an origin that is
well formed (serialised as a browser serialises one) and that no exact origin, pattern
or regular expression of the policy admitted. It answers from memory when it can, and
otherwise calls ``load`` once, whatever the number of requests waiting for that origin.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final

from ._decision import logged
from ._engine import logger

__all__ = ("CachedOrigins",)

Loader = Callable[[str], Awaitable[object]]


class CachedOrigins:
    """Allowed origins looked up by an async ``load(origin) -> bool``, remembered.

    Use an instance as a key of a configuration, where a predicate could go::

        tenants = CachedOrigins(load_tenant_origin, ttl=60)
        aiohttp_cors.enable(app, {tenants: ResourceOptions(allow_credentials=True)})

    - An admitted origin is answered from memory for *ttl* seconds, a refused one for
      *negative_ttl*. For as long again after that, a request gets the old answer at
      once while one call of ``load`` refreshes it: no answer served is older than
      twice its time to live plus *load_timeout*. Later than that, requests wait for
      ``load`` as for a new origin.
    - ``load`` runs once at a time per origin: the requests that ask meanwhile share
      its answer.
    - A ``load`` that raises, or takes longer than *load_timeout* seconds, refuses the
      origin: the refusal is remembered for *negative_ttl*, and logged at WARNING.
    - At most *max_entries* origins are remembered; the least recently asked go first.
    - :meth:`invalidate` and :meth:`clear` forget at once; :meth:`stats` counts.

    Each process has its own memory: with several workers, a change reaches each of
    them within its time to live (docs/deployment.md). *clock* is for tests.
    """

    def __init__(
        self,
        load: Loader,
        *,
        ttl: float = 60.0,
        negative_ttl: float = 10.0,
        max_entries: int = 10_000,
        load_timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        problems = []
        if not callable(load):
            problems.append(f"load={load!r}: give an async function load(origin) -> bool")
        for name, value, least in (
            ("ttl", ttl, "above 0, such as 60"),
            ("negative_ttl", negative_ttl, "0 or more, such as 10"),
            ("load_timeout", load_timeout, "above 0, such as 2"),
        ):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if (
                not number
                or not math.isfinite(value)
                or value < 0
                or (value == 0 and name != "negative_ttl")
            ):
                problems.append(f"{name}={value!r}: give a number of seconds {least}")
        if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries < 1:
            problems.append(f"max_entries={max_entries!r}: give a whole number of 1 or more")
        if problems:
            raise ValueError("CachedOrigins: " + "; ".join(problems))
        self._load = load
        self.ttl: Final = float(ttl)
        self.negative_ttl: Final = float(negative_ttl)
        self.max_entries: Final = max_entries
        self.load_timeout: Final = float(load_timeout)
        self._clock = clock
        #: origin -> (admitted, fresh until, served until): most recently asked last.
        self._entries: OrderedDict[str, tuple[bool, float, float]] = OrderedDict()
        #: origin -> the one call of ``load`` under way for it.
        self._loading: dict[str, asyncio.Task[bool]] = {}
        self._hits = self._misses = self._loads = self._errors = 0

    def __repr__(self) -> str:
        return f"CachedOrigins({self._load!r}, ttl={self.ttl}, negative_ttl={self.negative_ttl})"

    def __call__(self, origin: str, request: object = None) -> bool | Awaitable[bool]:
        """Whether *origin* is allowed: from memory, or awaitable while ``load`` runs."""
        entry = self._entries.get(origin)
        if entry is not None:
            admitted, fresh_until, served_until = entry
            now = self._clock()
            if now < served_until:
                self._entries.move_to_end(origin)
                self._hits += 1
                if now >= fresh_until and origin not in self._loading:
                    self._start(origin)  # the old answer now, a new one for the next
                return admitted
        self._misses += 1
        task = self._loading.get(origin) or self._start(origin)
        # A request that goes away does not cancel the call the others wait for.
        return asyncio.shield(task)

    def _start(self, origin: str) -> asyncio.Task[bool]:
        task = asyncio.get_running_loop().create_task(self._fetch(origin))
        self._loading[origin] = task
        return task

    async def _fetch(self, origin: str) -> bool:
        self._loads += 1
        task = asyncio.current_task()
        try:
            admitted = bool(await asyncio.wait_for(self._call(origin), self.load_timeout))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure of load refuses
            self._errors += 1
            admitted = False
            logger.warning(
                "CORS: CachedOrigins refused origin %s: its load failed (%s)",
                logged(origin),
                logged(_describe(error, self.load_timeout)),
            )
        finally:
            current = self._loading.get(origin) is task
            if current:
                del self._loading[origin]
        # Not kept if invalidate() or clear() came while it ran: asked before them.
        if current:
            self._remember(origin, admitted)
        return admitted

    async def _call(self, origin: str) -> object:
        return await self._load(origin)

    def _remember(self, origin: str, admitted: bool) -> None:
        ttl = self.ttl if admitted else self.negative_ttl
        if ttl == 0:
            self._entries.pop(origin, None)
            return
        now = self._clock()
        self._entries[origin] = (admitted, now + ttl, now + 2 * ttl)
        self._entries.move_to_end(origin)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, origin: str) -> None:
        """Forget *origin*: the next request for it calls ``load``."""
        self._entries.pop(origin, None)
        self._loading.pop(origin, None)

    def clear(self) -> None:
        """Forget every origin."""
        self._entries.clear()
        self._loading.clear()

    def stats(self) -> dict[str, int]:
        """Answers from memory (``hits``), answers that waited (``misses``), calls of
        ``load`` (``loads``) and those that failed (``errors``), origins remembered
        (``entries``)."""
        return {
            "hits": self._hits,
            "misses": self._misses,
            "loads": self._loads,
            "errors": self._errors,
            "entries": len(self._entries),
        }


def _describe(error: Exception, timeout: float) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"{type(error).__name__}: {error}"
