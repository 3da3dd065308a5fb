"""An API whose allowed origins live in a database table: one row per customer domain.

    pip install 'aiohttp-cors[sqlite]'
    python examples/tenants.py --db tenants.sqlite --port 8082

Each tenant's front end (``https://shop.customer.example``) may read the API with
cookies once its origin is a row of the ``tenants`` table. A new or removed row takes
effect within ``TTL`` seconds without a restart; ``POST /admin/invalidate`` makes it
take effect at once (in the process that receives it: see docs/deployment.md for
several workers). Under gunicorn, with as many workers as you like::

    TENANTS_DB=tenants.sqlite gunicorn 'examples.tenants:create_app()' \\
        --worker-class aiohttp.GunicornWebWorker --workers 4 --bind 127.0.0.1:8082
"""

from __future__ import annotations

import argparse
import os
import secrets

import aiosqlite
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CachedOrigins, ResourceOptions

DB = web.AppKey("db", aiosqlite.Connection)
TENANTS = web.AppKey("tenants", CachedOrigins)

SCHEMA = "CREATE TABLE IF NOT EXISTS tenants (origin TEXT PRIMARY KEY, name TEXT NOT NULL)"


async def orders(request: web.Request) -> web.Response:
    return web.json_response({"orders": [], "worker": os.getpid()})


async def invalidate(request: web.Request) -> web.Response:
    """Forget one origin now (an admin tool calls this after changing its row)."""
    token = os.environ.get("TENANTS_ADMIN_TOKEN")
    if not token or not secrets.compare_digest(request.headers.get("X-Admin-Token", ""), token):
        raise web.HTTPForbidden(text="admin token required")
    origin = (await request.json())["origin"]
    request.app[TENANTS].invalidate(origin)
    return web.json_response({"invalidated": origin, "worker": os.getpid()})


def create_app(db_path: str | None = None, ttl: float | None = None) -> web.Application:
    """The API; its database is *db_path* (default: ``$TENANTS_DB``), its cache keeps
    answers *ttl* seconds (default: ``$TENANTS_TTL``, else 60)."""
    path = db_path or os.environ.get("TENANTS_DB", "tenants.sqlite")
    app = web.Application()

    async def open_db(app: web.Application) -> None:
        app[DB] = await aiosqlite.connect(path)
        await app[DB].execute("PRAGMA busy_timeout = 2000")
        await app[DB].execute(SCHEMA)
        await app[DB].commit()

    async def close_db(app: web.Application) -> None:
        await app[DB].close()

    async def is_tenant(origin: str) -> bool:
        query = "SELECT 1 FROM tenants WHERE origin = ?"
        async with app[DB].execute(query, (origin,)) as rows:
            return await rows.fetchone() is not None

    seconds = ttl if ttl is not None else float(os.environ.get("TENANTS_TTL", "60"))
    tenants = app[TENANTS] = CachedOrigins(is_tenant, ttl=seconds, negative_ttl=seconds / 6)
    app.on_startup.append(open_db)
    app.on_cleanup.append(close_db)

    options = ResourceOptions(allow_credentials=True, allow_headers=["Content-Type"])
    cors = aiohttp_cors.enable(app, {tenants: options}, csrf_protection=True)
    app.router.add_get("/api/orders", orders)
    cors.exclude(app.router.add_post("/admin/invalidate", invalidate))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="tenants.sqlite", help="the SQLite file")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--ttl", type=float, default=60.0, help="seconds an answer is kept")
    args = parser.parse_args()
    web.run_app(create_app(args.db, args.ttl), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
