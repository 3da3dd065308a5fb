"""``ResourceOptions``: the CORS options for one origin, and config parsing."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence, Set
from functools import cached_property
from typing import Any, NamedTuple

from ._headers import ACAC, ACEH, ACMA

__all__ = ("ResourceOptions",)

_STAR = "*"


class _Fields(NamedTuple):
    allow_credentials: bool
    expose_headers: str | frozenset[str]
    allow_headers: str | frozenset[str]
    max_age: int | None
    allow_methods: str | frozenset[str] | None


def _names(option: str, value: object) -> str | frozenset[str]:
    """Validate a header or method collection: ``"*"`` or strings in a sequence or set."""
    if value == _STAR:
        return _STAR
    if isinstance(value, (Sequence, Set)) and not isinstance(value, (str, bytes, bytearray)):
        items: Collection[object] = value
        if all(isinstance(item, str) for item in items):
            names = frozenset(str(item) for item in items)
            for name in names:
                if any(ch in name for ch in "\r\n\0"):
                    raise ValueError(
                        f"{option!r} must not contain control characters, got {name!r}"
                    )
            return names
    hint = f": did you mean ({value!r},)?" if isinstance(value, str) else ""
    raise ValueError(
        f"{option!r} must be either '*', or sequence of strings, got '{value!r}'{hint}"
    )


class ResourceOptions(_Fields):
    """CORS options for the origins of one configuration entry.

    An immutable value (a named tuple): equal options compare and hash equal.
    ``allow_headers`` and ``allow_methods`` are stored upper-cased,
    ``expose_headers`` as written.
    """

    def __new__(
        cls,
        *,
        allow_credentials: bool = False,
        expose_headers: str | Iterable[str] = (),
        allow_headers: str | Iterable[str] = (),
        max_age: int | None = None,
        allow_methods: str | Iterable[str] | None = None,
    ) -> ResourceOptions:
        if not isinstance(allow_credentials, bool):
            raise ValueError(f"'allow_credentials' must be boolean, got '{allow_credentials!r}'")
        expose = _names("expose_headers", expose_headers)
        allow = _names("allow_headers", allow_headers)
        if isinstance(allow, frozenset):
            allow = frozenset(name.upper() for name in allow)
        # bool is an int subclass: max_age=True would be sent as "True".
        if max_age is not None and (
            not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0
        ):
            raise ValueError(f"'max_age' must be non-negative integer, got '{max_age!r}'")
        methods: str | frozenset[str] | None = None
        if allow_methods is not None:
            methods = _names("allow_methods", allow_methods)
            if isinstance(methods, frozenset):
                methods = frozenset(method.upper() for method in methods)
        return super().__new__(cls, allow_credentials, expose, allow, max_age, methods)

    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        # Options are keyword-only: copy and pickle rebuild them by name.
        return (), self._asdict()

    def is_method_allowed(self, method: str) -> bool:
        """Whether ``allow_methods`` names *method* (compared upper-cased).

        ``allow_methods=None`` answers False: then the routes decide.
        """
        if self.allow_methods is None:
            return False
        if self.allow_methods == _STAR:
            return True
        return method.upper() in self.allow_methods

    # Header values are computed once per options value, never per request.
    @cached_property
    def _compiled(self) -> _Compiled:
        return _Compiled(self)


class _Compiled:
    """The ready-to-send form of one ``ResourceOptions``."""

    __slots__ = (
        "actual_headers",
        "allow_any_header",
        "allowed_headers",
        "any_method",
        "credentials",
        "expose_all",
        "methods",
        "preflight_headers",
    )

    def __init__(self, options: ResourceOptions) -> None:
        self.credentials = options.allow_credentials
        actual: list[tuple[str, str]] = []
        preflight: list[tuple[str, str]] = []
        if options.allow_credentials:
            actual.append((ACAC, "true"))
            preflight.append((ACAC, "true"))
        self.expose_all = options.expose_headers == _STAR
        if not self.expose_all and options.expose_headers:
            value = ",".join(sorted(options.expose_headers, key=str.lower))
            actual.append((ACEH, value))
        if options.max_age is not None:
            preflight.append((ACMA, str(options.max_age)))
        self.actual_headers = tuple(actual)
        self.preflight_headers = tuple(preflight)
        self.allow_any_header = options.allow_headers == _STAR
        self.allowed_headers = frozenset(
            name.lower() for name in options.allow_headers if not self.allow_any_header
        )
        self.any_method = options.allow_methods == _STAR
        self.methods: frozenset[str] | None = None
        if isinstance(options.allow_methods, frozenset):
            self.methods = options.allow_methods


_OPTION_NAMES = frozenset(_Fields._fields)

#: What users may pass for one origin: options, or their keyword arguments.
OriginOptions = ResourceOptions | Mapping[str, Any]
#: What users may pass as a configuration: origin -> options. A key is an origin, a
#: wildcard pattern, a compiled regular expression, a predicate or a CachedOrigins (see
#: docs/origins.md); typed ``Any`` so that a ``dict[str, ...]`` is accepted as it is.
Config = Mapping[Any, OriginOptions]


def parse_options(options: object) -> ResourceOptions:
    """Turn one configuration value into ``ResourceOptions`` (0.8.1's rules and messages)."""
    if isinstance(options, ResourceOptions):
        return options
    if isinstance(options, Mapping):
        unexpected = set(options) - _OPTION_NAMES
        if unexpected:
            names = ",".join(sorted(str(key) for key in unexpected))
            raise ValueError(f"Unexpected keywords in resource options: {names}")
        return ResourceOptions(**options)
    raise ValueError(
        "Origin options must be either aiohttp_cors.ResourceOptions instance or mapping, "
        f"got '{options!r}'"
    )
