"""Class-based views: ``CorsViewMixin`` and the per-method ``custom_cors``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aiohttp import web

from ._config import compile_config
from ._engine import ENGINE_KEY, engines, view_methods
from .resource_options import Config, ResourceOptions

__all__ = ("CorsViewMixin", "custom_cors")

_F = TypeVar("_F", bound=Callable[..., Any])

#: Attribute under which ``custom_cors`` leaves its parsed configuration.
CUSTOM_CONFIG_ATTR = "_aiohttp_cors_custom_config"


def custom_cors(config: Config) -> Callable[[_F], _F]:
    """Give one method of a ``CorsViewMixin`` view its own CORS configuration.

    The configuration is validated when the decorator is applied.
    """
    parsed = compile_config(config)

    def decorate(function: _F) -> _F:
        setattr(function, CUSTOM_CONFIG_ATTR, parsed)
        return function

    return decorate


def method_config(view: type, method: str) -> dict[Any, ResourceOptions]:
    """The ``custom_cors`` configuration of *view*'s handler for *method*."""
    handler = getattr(view, method.lower(), None)
    config: dict[Any, ResourceOptions] = getattr(handler, CUSTOM_CONFIG_ATTR, {})
    return config


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
        resource = request.match_info.route.resource
        defaults: Mapping[Any, ResourceOptions] = {}
        for app in reversed(request.match_info.apps):
            engine = app.get(ENGINE_KEY)
            if engine is None:
                continue
            entry = engine.routes.get(resource) if resource is not None else None
            if entry is not None:
                return entry.static_scope(request_method).policy.as_config()
            defaults = defaults or engine.route_defaults
        config = compile_config(cls.cors_config)
        return {**defaults, **config, **method_config(cls, request_method)}

    async def options(self) -> web.StreamResponse:
        """Answer CORS preflights; any other ``OPTIONS`` gets aiohttp's 405."""
        found = engines(self.request.match_info.apps)
        if not found:
            raise web.HTTPMethodNotAllowed(self.request.method, view_methods(type(self)))
        return await found[0].answer_options(self.request)
