"""The router adapter interface: how ``CorsConfig`` talks to a router.

The built-in adapter covers aiohttp's ``UrlDispatcher``; implement this
interface only to teach the library another router.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from typing import Any

from aiohttp import web

from .resource_options import ResourceOptions

__all__ = ("AbstractRouterAdapter",)


class AbstractRouterAdapter(ABC):
    """Maps routing entities (resources, routes) to CORS configuration."""

    @abstractmethod
    def add_preflight_handler(
        self, routing_entity: Any, handler: Any, webview: bool = False
    ) -> None:
        """Make *handler* answer ``OPTIONS`` requests for *routing_entity*."""

    @abstractmethod
    def is_preflight_request(self, request: web.Request) -> bool:
        """Whether *request* is a CORS preflight handled by this adapter."""

    @abstractmethod
    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Whether CORS is configured for the resource *request* was routed to."""

    @abstractmethod
    def set_config_for_routing_entity(
        self, routing_entity: Any, config: Mapping[str, ResourceOptions]
    ) -> None:
        """Store the (already validated) configuration of *routing_entity*."""

    @abstractmethod
    def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Mapping[str, ResourceOptions] | Awaitable[Mapping[str, ResourceOptions]]:
        """The origin -> options mapping that decides *preflight_request* (may be async)."""

    @abstractmethod
    def get_non_preflight_request_config(
        self, request: web.Request
    ) -> Mapping[str, ResourceOptions] | Awaitable[Mapping[str, ResourceOptions]]:
        """The origin -> options mapping for an actual (non-preflight) request (may be async)."""
