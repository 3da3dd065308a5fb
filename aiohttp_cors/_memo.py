"""The one bounded memo: answers that depend on their key alone, kept within bounds.

Used where a measurement showed the lookup worth it, each use with its key
documented there. Every entry is a pure function of its key and of an immutable
owner (an entry can never be served to a request that would be decided
differently); the table is emptied when full and long keys are not kept, so
that no client can make it grow.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most *limit* answers by key; keys longer than *key_limit* are not kept."""

    __slots__ = ("_key_limit", "_limit", "_table")

    def __init__(self, limit: int, key_limit: int) -> None:
        self._table: dict[K, V] = {}
        self._limit = limit
        self._key_limit = key_limit

    def get(self, key: K, default: V) -> V:
        """The answer kept for *key*, else *default*."""
        return self._table.get(key, default)

    def put(self, key: K, value: V, size: int) -> None:
        """Keep *value* for *key*, whose size (its length) is *size*."""
        if size > self._key_limit:
            return
        if len(self._table) >= self._limit:
            self._table.clear()
        self._table[key] = value

    def __len__(self) -> int:
        return len(self._table)
