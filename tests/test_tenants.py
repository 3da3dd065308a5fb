"""examples/tenants.py as users run it: from the command line, and under gunicorn with two
workers sharing one SQLite file, whose rows decide which origins may read the API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, ClientTimeout
from aiohttp.test_utils import unused_port

ROOT = Path(__file__).resolve().parents[1]
TENANT = "https://shop.customer.example"
TOKEN = "test-admin-token"


def needs(module: str) -> None:
    """Skip without *module* on a developer's machine; under CI it must be there."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{module} is not installed: pip install -e '.[test]'")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE tenants (origin TEXT PRIMARY KEY, name TEXT NOT NULL)")
    return path


def set_tenant(path: Path, present: bool) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        if present:
            db.execute("INSERT OR REPLACE INTO tenants VALUES (?, 'Shop')", (TENANT,))
        else:
            db.execute("DELETE FROM tenants WHERE origin = ?", (TENANT,))


@contextlib.contextmanager
def serving(command: list[str], database: Path, ttl: str) -> Iterator[None]:
    """Run *command* (a server of examples/tenants.py) until the block ends."""
    env = {
        **os.environ,
        "TENANTS_DB": str(database),
        "TENANTS_TTL": ttl,
        "TENANTS_ADMIN_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


async def ask(session: ClientSession, url: str) -> tuple[int, bool]:
    """(the worker that answered, whether TENANT may read the answer)."""
    # A new connection each time, so that every worker gets a share of them.
    headers = {"Origin": TENANT, "Connection": "close"}
    async with session.get(url + "/api/orders", headers=headers) as resp:
        assert resp.status == 200
        worker = (await resp.json())["worker"]
        return worker, resp.headers.get("Access-Control-Allow-Origin") == TENANT


async def until_up(session: ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            await ask(session, url)
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_the_command_line_example_follows_its_table_and_its_admin(database):
    needs("aiosqlite")
    port = unused_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "examples/tenants.py", "--db", str(database),
               "--port", str(port), "--ttl", "60"]  # fmt: skip
    with serving(command, database, "60"):
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            await until_up(session, url)
            assert (await ask(session, url))[1] is False
            set_tenant(database, True)
            assert (await ask(session, url))[1] is False  # remembered: ttl has not passed
            admin = {"X-Admin-Token": TOKEN}
            # Each response released at once: one left to the garbage collector warns
            # (ResourceWarning) in whichever test happens to run then.
            async with session.post(
                url + "/admin/invalidate", json={"origin": TENANT}, headers=admin
            ) as resp:
                assert resp.status == 200
            assert (await ask(session, url))[1] is True  # at once
            async with session.post(url + "/admin/invalidate", json={"origin": TENANT}) as resp:
                assert resp.status == 403  # no token, no admin


async def test_two_gunicorn_workers_follow_a_changed_row_within_ttl(database):
    needs("aiosqlite")
    needs("gunicorn")
    ttl, margin = 1.0, 1.5
    port = unused_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "examples.tenants:create_app()",
               "--worker-class", "aiohttp.GunicornWebWorker", "--workers", "2",
               "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2"]  # fmt: skip
    set_tenant(database, True)
    with serving(command, database, str(ttl)):
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            await until_up(session, url)
            admitted: set[int] = set()
            for _ in range(400):  # both workers up, and each admitting the tenant
                worker, readable = await ask(session, url)
                if readable:
                    admitted.add(worker)
                if len(admitted) == 2:
                    break
                await asyncio.sleep(0.01)
            assert len(admitted) == 2, "both workers should have answered"
            set_tenant(database, False)
            changed = time.monotonic()
            followed: dict[int, float] = {}
            while len(followed) < 2 and time.monotonic() - changed < ttl + margin + 3:
                worker, readable = await ask(session, url)
                if not readable and worker not in followed:
                    followed[worker] = time.monotonic() - changed
                await asyncio.sleep(0.02)
            assert len(followed) == 2, f"only {followed} followed the change"
            assert max(followed.values()) <= ttl + margin, followed
