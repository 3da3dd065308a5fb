"""Class-based views: ``CorsViewMixin`` and the per-method ``custom_cors``."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeVar

from aiohttp import hdrs, web

from .resource_options import Config, ResourceOptions, parse_config

__all__ = ("CorsViewMixin", "custom_cors")

_F = TypeVar("_F", bound=Callable[..., Any])

#: Attribute under which ``custom_cors`` leaves its parsed configuration.
CUSTOM_CONFIG_ATTR = "_aiohttp_cors_custom_config"


class ViewEntry(Protocol):
    """What the view support needs from a registered view resource."""

    async def answer_preflight(self, request: web.Request) -> web.StreamResponse: ...

    def config_for(self, method: str) -> dict[str, ResourceOptions]: ...

    def plain_options_methods(self) -> frozenset[str]: ...


class _EntryTable(Protocol):
    """A route-mode adapter: its entries by resource."""

    @property
    def entries(self) -> Mapping[web.AbstractResource, ViewEntry]: ...


class RouteModeEntries:
    """The resources registered with ``CorsConfig.add`` (route mode), in every application.

    Looked up by resource, not by application, so that views in sub-applications
    find their entry, and so that app-wide mode leaves these resources to route
    mode. Each route-mode adapter keeps its own table and registers itself here
    once, weakly: a discarded application takes its entries along, and
    registering a resource costs nothing more than the adapter's own table.
    """

    __slots__ = ("adapters", "version")

    def __init__(self) -> None:
        #: Weak references to the live route-mode adapters (empty: no route mode at all).
        self.adapters: list[weakref.ref[_EntryTable]] = []
        #: Changes whenever a resource is added to route mode: what app-wide mode
        #: remembers about a resource is valid for one version only.
        self.version = 0

    def register(self, adapter: _EntryTable) -> None:
        self.adapters.append(weakref.ref(adapter, self.adapters.remove))

    def get(self, resource: web.AbstractResource | None) -> ViewEntry | None:
        for ref in self.adapters:
            adapter = ref()
            if adapter is not None:
                entry = adapter.entries.get(resource)  # type: ignore[arg-type]
                if entry is not None:
                    return entry
        return None

    def __contains__(self, resource: web.AbstractResource) -> bool:
        return self.get(resource) is not None


ROUTE_MODE_ENTRIES: Final = RouteModeEntries()


def custom_cors(config: Config) -> Callable[[_F], _F]:
    """Give one method of a ``CorsViewMixin`` view its own CORS configuration.

    The configuration is validated when the decorator is applied.
    """
    parsed = parse_config(config)

    def decorate(function: _F) -> _F:
        setattr(function, CUSTOM_CONFIG_ATTR, parsed)
        return function

    return decorate


def method_config(view: type, method: str) -> dict[str, ResourceOptions]:
    """The ``custom_cors`` configuration of *view*'s handler for *method*."""
    handler = getattr(view, method.lower(), None)
    config: dict[str, ResourceOptions] = getattr(handler, CUSTOM_CONFIG_ATTR, {})
    return config


def implemented_methods(view: type) -> frozenset[str]:
    """The HTTP methods *view* answers itself (not counting the CORS ``options``)."""
    return frozenset(
        method
        for method in hdrs.METH_ALL
        if method != hdrs.METH_OPTIONS and callable(getattr(view, method.lower(), None))
    )


class CorsViewMixin:
    """Mix into a ``web.View`` to give it CORS.

    ``cors_config`` sets the view's configuration, ``custom_cors`` one
    method's; register the view's route with ``CorsConfig.add``.
    """

    #: The view's own origin -> options configuration.
    cors_config: ClassVar[Config | None] = None

    if TYPE_CHECKING:
        request: web.Request

    @classmethod
    def get_request_config(
        cls, request: web.Request, request_method: str
    ) -> Mapping[str, ResourceOptions]:
        """The origin -> options mapping that applies to *request_method*.

        Most specific first: the method's ``custom_cors``, ``cors_config``,
        the configuration given to ``CorsConfig.add``, then the defaults.
        """
        entry = ROUTE_MODE_ENTRIES.get(request.match_info.route.resource)
        if entry is not None:
            return entry.config_for(request_method)
        from .cors_config import APP_CONFIG_KEY  # noqa: PLC0415  (import cycle)

        defaults: Mapping[str, ResourceOptions] = {}
        for app in reversed(request.match_info.apps):
            cors = app.get(APP_CONFIG_KEY)
            if cors is not None:
                defaults = cors.defaults
                break
        merged = dict(defaults)
        merged.update(parse_config(cls.cors_config))
        merged.update(method_config(cls, request_method))
        return merged

    async def options(self) -> web.StreamResponse:
        """Answer CORS preflights; any other ``OPTIONS`` gets aiohttp's 405."""
        request = self.request
        entry = ROUTE_MODE_ENTRIES.get(request.match_info.route.resource)
        headers = request.headers
        if (
            entry is None
            or hdrs.ORIGIN not in headers
            or hdrs.ACCESS_CONTROL_REQUEST_METHOD not in headers
        ):
            methods = entry.plain_options_methods() if entry else implemented_methods(type(self))
            raise web.HTTPMethodNotAllowed(request.method, methods)
        return await entry.answer_preflight(request)
