"""CORS (Cross-Origin Resource Sharing) for aiohttp web applications.

Drop-in compatible with aiohttp-cors 0.8.1::

    cors = aiohttp_cors.setup(app, defaults={
        "https://app.example": aiohttp_cors.ResourceOptions(allow_headers="*"),
    })
    cors.add(app.router.add_get("/api", handler))
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ._app import APP_CORS_KEY, AppCors, enable
from ._cached import CachedOrigins
from ._config import CorsConfigError, Unsafe, validate
from .cors_config import APP_CONFIG_KEY, CorsConfig
from .mixin import CorsViewMixin, custom_cors
from .resource_options import Config, ResourceOptions

__title__ = "aiohttp-cors"
__version__ = "1.0.0"
__author__ = "The aiohttp_cors developers"
__email__ = ""
__summary__ = "CORS support for aiohttp"
__uri__ = "https://pypi.org/project/aiohttp-cors/"
__license__ = "Apache License, Version 2.0"
__copyright__ = "2026 The aiohttp_cors developers"

__all__ = (
    "APP_CONFIG_KEY",
    "APP_CORS_KEY",
    "AppCors",
    "CachedOrigins",
    "CorsConfig",
    "CorsConfigError",
    "CorsViewMixin",
    "ResourceOptions",
    "Unsafe",
    "__author__",
    "__copyright__",
    "__email__",
    "__license__",
    "__summary__",
    "__title__",
    "__uri__",
    "__version__",
    "custom_cors",
    "enable",
    "setup",
    "validate",
)


def setup(
    app: web.Application,
    *,
    defaults: Config | None = None,
    csrf_protection: bool | None = None,
    csrf_exempt_prefixes: Iterable[str] = (),
    debug: bool | None = None,
    strict: bool = False,
    unsafe: Unsafe = Unsafe.NONE,
) -> CorsConfig:
    """Create the application's ``CorsConfig`` and store it in ``app[APP_CONFIG_KEY]``.

    *csrf_protection* refuses (403) requests of unsafe methods to the routes added
    with ``cors.add`` that a page of another origin sent, unless their policy allows
    that origin (docs/csrf.md); left at ``None``, it follows the enclosing
    application. *csrf_exempt_prefixes* lists path prefixes whose routes take
    cross-site requests all the same. *debug* turns debug mode on
    (:attr:`CorsConfig.debug`, docs/debugging.md).

    *strict* checks ``defaults`` and every configuration given to ``add`` as
    :func:`enable` does: one :class:`CorsConfigError` listing every problem. Without
    it, 0.8.1's errors are raised and every other problem is logged at WARNING, in the
    same words. *unsafe* names deliberate exceptions, as for :func:`enable`.
    """
    cors = CorsConfig(
        app,
        defaults=defaults,
        csrf_protection=csrf_protection,
        csrf_exempt_prefixes=csrf_exempt_prefixes,
        debug=debug,
        strict=strict,
        unsafe=unsafe,
    )
    app[APP_CONFIG_KEY] = cors
    return cors
