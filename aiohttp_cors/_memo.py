"""The one bounded memo: answers that depend on their key alone, kept within bounds.

Used where a measurement showed the lookup worth it, each use with its key
documented there. Every entry is a pure function of its key and of an immutable
owner (an entry can never be served to a request that would be decided
differently); the table is emptied when full and long keys are not kept, so
that no client can make it grow.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """At most *limit* answers by key (read with ``get``); keys longer than
    *key_limit* are not kept."""

    __slots__ = ("_key_limit", "_limit")

    def __init__(self, limit: int, key_limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._key_limit = key_limit

    def put(self, key: K, value: V, size: int) -> None:
        """Keep *value* for *key*, whose size (its length) is *size*."""
        if size > self._key_limit:
            return
        if len(self) >= self._limit:
            self.clear()
        self[key] = value
