"""``CachedOrigins``: origins from a store, remembered, over real HTTP in both modes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CachedOrigins, ResourceOptions

TENANT = "https://shop.customer.example"
OTHER = "https://other.customer.example"
MODES = ("route", "app")
PREFLIGHT = {"Access-Control-Request-Method": "PUT"}


class Store:
    """A stand-in for the tenants table: which origins are allowed, and every lookup."""

    def __init__(self, *allowed: str, delay: float = 0.0) -> None:
        self.allowed = set(allowed)
        self.delay = delay
        self.asked: list[str] = []
        self.fail: Exception | None = None

    async def load(self, origin: str) -> bool:
        """The answer is read at once, and arrives *delay* seconds later."""
        self.asked.append(origin)
        answer, fail = origin in self.allowed, self.fail
        if self.delay:
            await asyncio.sleep(self.delay)
        if fail is not None:
            raise fail
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def served(mode: str, config: dict[object, ResourceOptions]) -> web.Application:
    """/r answers GET and PUT, its CORS from *config* in *mode*."""
    app = web.Application()
    routes = [app.router.add_get("/r", ok), app.router.add_put("/r", ok)]
    if mode == "app":
        aiohttp_cors.enable(app, config)
    else:
        cors = aiohttp_cors.setup(app, defaults=config)
        for route in routes:
            cors.add(route)
    return app


def cached(store: Store, **options: object) -> CachedOrigins:
    return CachedOrigins(store.load, **options)  # type: ignore[arg-type]


Send = Callable[[str], Awaitable[str | None]]


async def reader(aiohttp_client, mode: str, origins: CachedOrigins, **options: object) -> Send:  # type: ignore[no-untyped-def]
    """A function sending GET /r from an origin: the Access-Control-Allow-Origin it got."""
    client = await aiohttp_client(served(mode, {origins: ResourceOptions(**options)}))

    async def send(origin: str) -> str | None:
        resp = await client.get("/r", headers={"Origin": origin})
        assert resp.status == 200
        return resp.headers.get("Access-Control-Allow-Origin")

    return send


# -- arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"ttl": 0}, "ttl=0: give a number of seconds above 0"),
        ({"ttl": -1.0}, "ttl=-1.0"),
        ({"ttl": float("inf")}, "ttl=inf"),
        ({"ttl": "60"}, "ttl='60'"),
        ({"negative_ttl": -1}, "negative_ttl=-1: give a number of seconds 0 or more"),
        ({"load_timeout": 0}, "load_timeout=0: give a number of seconds above 0"),
        ({"max_entries": 0}, "max_entries=0: give a whole number of 1 or more"),
        ({"max_entries": True}, "max_entries=True"),
        ({"max_entries": 2.5}, "max_entries=2.5"),
    ],
)
def test_bad_arguments_are_refused_with_their_fix(options, says):
    with pytest.raises(ValueError, match=r"^CachedOrigins: .*" + says.replace("(", r"\(")):
        CachedOrigins(Store().load, **options)


def test_load_must_be_callable():
    with pytest.raises(ValueError, match="load='db': give an async function"):
        CachedOrigins("db")  # type: ignore[arg-type]


def test_zero_negative_ttl_is_allowed_and_boundaries_hold():
    CachedOrigins(Store().load, negative_ttl=0, max_entries=1, ttl=0.001, load_timeout=0.001)


# -- over HTTP ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_an_admitted_origin_gets_the_options_its_key_maps_to(aiohttp_client, mode):
    store = Store(TENANT)
    send = await reader(aiohttp_client, mode, cached(store), expose_headers=["X-Total"])
    assert await send(TENANT) == TENANT
    assert await send(OTHER) is None
    assert await send(TENANT) == TENANT
    assert store.asked == [TENANT, OTHER]


@pytest.mark.parametrize("mode", MODES)
async def test_concurrent_preflights_for_a_new_origin_load_it_once(aiohttp_client, mode):
    store = Store(TENANT, delay=0.05)
    origins = cached(store)
    options = ResourceOptions(allow_methods=["PUT"])
    client = await aiohttp_client(served(mode, {origins: options}))
    headers = {**PREFLIGHT, "Origin": TENANT}
    responses = await asyncio.gather(*(client.options("/r", headers=headers) for _ in range(100)))
    assert [r.status for r in responses] == [200] * 100
    assert all(r.headers["Access-Control-Allow-Origin"] == TENANT for r in responses)
    assert store.asked == [TENANT]
    assert origins.stats()["loads"] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_expiry_serves_the_old_answer_once_while_it_refreshes(aiohttp_client, mode):
    store, clock = Store(TENANT), Clock()
    origins = cached(store, ttl=60, clock=clock)
    send = await reader(aiohttp_client, mode, origins)
    assert await send(TENANT) == TENANT
    store.allowed.clear()  # the tenant leaves
    clock.now += 59.9
    assert await send(TENANT) == TENANT  # still fresh: from memory
    assert store.asked == [TENANT]
    clock.now += 0.1  # expired: the old answer, and one refresh
    assert await send(TENANT) == TENANT
    await asyncio.sleep(0.01)
    assert store.asked == [TENANT, TENANT]
    assert await send(TENANT) is None  # the refreshed answer
    assert store.asked == [TENANT, TENANT]


@pytest.mark.parametrize("mode", MODES)
async def test_an_answer_older_than_twice_its_ttl_is_never_served(aiohttp_client, mode):
    store, clock = Store(TENANT), Clock()
    send = await reader(aiohttp_client, mode, cached(store, ttl=60, clock=clock))
    assert await send(TENANT) == TENANT
    store.allowed.clear()
    clock.now += 120  # nobody asked in between: now it waits for the store
    assert await send(TENANT) is None
    assert store.asked == [TENANT, TENANT]


@pytest.mark.parametrize("mode", MODES)
async def test_refusals_are_remembered_for_negative_ttl(aiohttp_client, mode):
    store, clock = Store(), Clock()
    send = await reader(aiohttp_client, mode, cached(store, negative_ttl=10, clock=clock))
    assert await send(TENANT) is None
    store.allowed.add(TENANT)  # the tenant signs up
    clock.now += 9.9
    assert await send(TENANT) is None
    assert store.asked == [TENANT]
    clock.now += 0.1
    assert await send(TENANT) is None  # the old answer while it refreshes
    await asyncio.sleep(0.01)
    assert await send(TENANT) == TENANT


@pytest.mark.parametrize("mode", MODES)
async def test_no_negative_ttl_asks_the_store_every_time(aiohttp_client, mode):
    store = Store()
    send = await reader(aiohttp_client, mode, cached(store, negative_ttl=0))
    for _ in range(3):
        assert await send(TENANT) is None
    assert store.asked == [TENANT] * 3


@pytest.mark.parametrize("mode", MODES)
async def test_at_most_max_entries_the_least_recently_asked_go_first(aiohttp_client, mode):
    many = [f"https://t{i}.customer.example" for i in range(5)]
    store = Store(*many)
    origins = cached(store, max_entries=3)
    send = await reader(aiohttp_client, mode, origins)
    for origin in many[:3]:
        await send(origin)
    await send(many[0])  # asked again: now the most recent
    await send(many[3])  # evicts many[1]
    await send(many[4])  # evicts many[2]
    assert origins.stats()["entries"] == 3
    store.asked.clear()
    for origin in (many[0], many[3], many[4]):
        assert await send(origin) == origin
    assert store.asked == []
    assert await send(many[1]) == many[1]
    assert store.asked == [many[1]]


@pytest.mark.parametrize("mode", MODES)
async def test_a_slow_load_times_out_into_a_refusal_without_holding_up_others(
    aiohttp_client, mode, caplog
):
    slow, fast = Store(TENANT, delay=30), Store(OTHER)

    async def load(origin: str) -> bool:
        return await (slow if origin == TENANT else fast).load(origin)

    origins = CachedOrigins(load, load_timeout=0.2)
    send = await reader(aiohttp_client, mode, origins)
    caplog.set_level(logging.WARNING, "aiohttp_cors")
    waiting = asyncio.ensure_future(send(TENANT))
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    assert await send(OTHER) == OTHER
    assert asyncio.get_running_loop().time() - started < 0.15
    assert await waiting is None
    assert origins.stats()["errors"] == 1
    assert "no answer within 0.2 s" in caplog.text


@pytest.mark.parametrize("mode", MODES)
async def test_a_load_that_raises_refuses_and_is_logged_escaped(aiohttp_client, mode, caplog):
    store, clock = Store(TENANT), Clock()
    store.fail = RuntimeError("db down\r\nX-Injected: 1")
    origins = cached(store, negative_ttl=5, clock=clock)
    client = await aiohttp_client(served(mode, {origins: ResourceOptions(allow_methods=["PUT"])}))
    caplog.set_level(logging.WARNING, "aiohttp_cors")
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/r", headers={**PREFLIGHT, "Origin": TENANT})
    assert resp.status == 403
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "db down\\r\\nX-Injected: 1" in warning.getMessage()
    assert "\r" not in warning.getMessage()
    store.fail = None
    clock.now += 10  # the refusal is not kept past negative_ttl (and its stale window)
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert resp.headers.get("Access-Control-Allow-Origin") == TENANT
    assert origins.stats()["errors"] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_invalidate_takes_effect_on_the_next_request(aiohttp_client, mode):
    store = Store(TENANT)
    origins = cached(store)
    send = await reader(aiohttp_client, mode, origins)
    assert await send(TENANT) == TENANT
    store.allowed.clear()
    origins.invalidate(TENANT)
    assert await send(TENANT) is None
    store.allowed.add(TENANT)
    origins.clear()
    assert await send(TENANT) == TENANT
    assert origins.stats() == {"hits": 0, "misses": 3, "loads": 3, "errors": 0, "entries": 1}


async def test_a_load_under_way_when_invalidated_is_not_remembered(aiohttp_client):
    store = Store(TENANT, delay=0.1)
    origins = cached(store)
    send = await reader(aiohttp_client, "app", origins)
    first = asyncio.ensure_future(send(TENANT))
    await asyncio.sleep(0.02)
    store.allowed.clear()
    origins.invalidate(TENANT)  # the answer on its way was read before the change
    assert await first == TENANT
    store.delay = 0
    assert await send(TENANT) is None
    assert store.asked == [TENANT, TENANT]


@pytest.mark.parametrize("mode", MODES)
async def test_only_well_formed_origins_reach_load(aiohttp_client, mode):
    store = Store()
    send = await reader(aiohttp_client, mode, cached(store))
    for origin in ("https://Shop.customer.example", "https://shop.customer.example/",
                   "https://shop.customer.example:443", "shop.customer.example",
                   "https://shop..customer.example"):  # fmt: skip
        assert await send(origin) is None
    assert store.asked == []


async def test_a_changed_configuration_never_serves_the_old_ones_options(aiohttp_client):
    store = Store(TENANT)
    origins = cached(store)
    app = web.Application()
    app.router.add_get("/r", ok)
    cors = aiohttp_cors.enable(app, {origins: ResourceOptions(expose_headers=["X-Old"])})
    client = await aiohttp_client(app)

    async def exposed() -> str | None:
        resp = await client.get("/r", headers={"Origin": TENANT})
        return resp.headers.get("Access-Control-Expose-Headers")

    assert await exposed() == "X-Old"
    cors.reconfigure({origins: ResourceOptions(expose_headers=["X-New"])})
    assert await exposed() == "X-New"
    cors.reconfigure({OTHER: ResourceOptions()})
    assert await exposed() is None


async def test_a_change_of_route_mode_defaults_is_followed(aiohttp_client):
    store = Store(TENANT)
    origins = cached(store)
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={origins: ResourceOptions(expose_headers=["X-Old"])})
    cors.add(app.router.add_get("/r", ok))
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Old"
    cors.defaults[origins] = ResourceOptions(expose_headers=["X-New"])
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert resp.headers["Access-Control-Expose-Headers"] == "X-New"
    del cors.defaults[origins]
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_a_request_that_goes_away_does_not_cancel_the_load_others_wait_for(
    aiohttp_client,
):
    store = Store(TENANT, delay=0.1)
    origins = cached(store)

    async def ask() -> object:
        verdict = origins(TENANT, None)
        assert not isinstance(verdict, bool)
        return await verdict

    leaving = asyncio.ensure_future(ask())
    staying = asyncio.ensure_future(ask())
    await asyncio.sleep(0.02)
    leaving.cancel()
    assert await staying is True
    assert store.asked == [TENANT]
    assert origins(TENANT, None) is True


# -- the cache against a model of it ------------------------------------------------

from collections import OrderedDict  # noqa: E402

from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule  # noqa: E402

POOL = [f"https://t{i}.customer.example" for i in range(5)]
TTL, MAX = 10.0, 3


class CacheModel(RuleBasedStateMachine):
    """Requests, clock steps, changes of the store, invalidations: each answer must be
    one the model allows (from memory while fresh or stale, else the store's)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.truth: dict[str, bool] = dict.fromkeys(POOL, False)
        #: origin -> (answer remembered, when it was loaded); most recently asked last.
        self.model: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self.loads = 0

    @initialize(negative_ttl=st.sampled_from([0.0, 4.0]))
    def start(self, negative_ttl: float) -> None:
        self.negative_ttl = negative_ttl

        async def load(origin: str) -> bool:
            return self.truth[origin]

        self.cache = CachedOrigins(
            load, ttl=TTL, negative_ttl=negative_ttl, max_entries=MAX, clock=self.clock
        )

    def teardown(self) -> None:
        self.loop.close()

    def _ttl(self, answer: bool) -> float:
        return TTL if answer else self.negative_ttl

    def _remember(self, origin: str, answer: bool) -> None:
        self.loads += 1
        if self._ttl(answer) == 0:
            self.model.pop(origin, None)
            return
        self.model[origin] = (answer, self.clock.now)
        self.model.move_to_end(origin)
        while len(self.model) > MAX:
            self.model.popitem(last=False)

    async def _ask(self, origin: str) -> tuple[bool, bool]:
        verdict = self.cache(origin, None)
        hit = isinstance(verdict, bool)
        answer = verdict if isinstance(verdict, bool) else await verdict
        for _ in range(5):  # a refresh under way finishes
            await asyncio.sleep(0)
        return hit, bool(answer)

    @rule(origin=st.sampled_from(POOL))
    def request(self, origin: str) -> None:
        hit, answer = self.loop.run_until_complete(self._ask(origin))
        entry = self.model.get(origin)
        now = self.clock.now
        servable = entry is not None and now < entry[1] + 2 * self._ttl(entry[0])
        assert hit is servable, (origin, entry, now)
        if entry is not None and servable:
            assert answer is entry[0]
            self.model.move_to_end(origin)
            if now >= entry[1] + self._ttl(entry[0]):
                self._remember(origin, self.truth[origin])  # the refresh
        else:
            assert answer is self.truth[origin]
            self._remember(origin, answer)

    @rule(seconds=st.sampled_from([0.5, 3.9, 4.0, 9.99, 10.0, 15.0, 20.0]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(origin=st.sampled_from(POOL), allowed=st.booleans())
    def change_store(self, origin: str, allowed: bool) -> None:
        self.truth[origin] = allowed

    @rule(origin=st.sampled_from(POOL))
    def invalidate(self, origin: str) -> None:
        self.cache.invalidate(origin)
        self.model.pop(origin, None)

    @rule()
    def clear(self) -> None:
        self.cache.clear()
        self.model.clear()

    @invariant()
    def counts_agree(self) -> None:
        if hasattr(self, "cache"):
            stats = self.cache.stats()
            assert stats["entries"] == len(self.model)
            assert stats["loads"] == self.loads
            assert stats["errors"] == 0


CacheModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_the_cache_follows_its_model = CacheModel.TestCase
