"""The 0.8.1 public surface: names, signatures, errors and messages users match."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path

import pytest
from aiohttp import web
from packaging.version import Version

import aiohttp_cors
from aiohttp_cors import APP_CONFIG_KEY, CorsConfig, CorsViewMixin, ResourceOptions, custom_cors
from aiohttp_cors.abc import AbstractRouterAdapter

from .conftest import ORIGIN, OTHER, ok, preflight_headers


def test_names_and_metadata():
    for name in (
        "setup",
        "CorsConfig",
        "ResourceOptions",
        "CorsViewMixin",
        "custom_cors",
        "APP_CONFIG_KEY",
        "__title__",
        "__author__",
        "__email__",
        "__summary__",
        "__uri__",
        "__license__",
        "__copyright__",
    ):
        assert hasattr(aiohttp_cors, name), name
    assert Version(aiohttp_cors.__version__) == Version("1.0.0")


def test_the_version_is_written_in_one_place():
    """The distribution's version is read from ``aiohttp_cors.__version__`` (the wheel
    and the sdist are named after it; ``./run dist`` checks that)."""
    from importlib import metadata

    assert metadata.version("aiohttp-cors") == aiohttp_cors.__version__
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'path = "aiohttp_cors/__init__.py"' in pyproject
    assert set(aiohttp_cors.__all__) >= {"setup", "CorsConfig", "ResourceOptions", "custom_cors"}


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("aiohttp_cors.resource_options", ["ResourceOptions"]),
        ("aiohttp_cors.cors_config", ["CorsConfig"]),
        ("aiohttp_cors.mixin", ["CorsViewMixin", "custom_cors"]),
        ("aiohttp_cors.abc", ["AbstractRouterAdapter"]),
    ],
)
def test_submodules(module, names):
    imported = importlib.import_module(module)
    for name in names:
        assert getattr(imported, name) is not None
    assert imported.__dict__.get("ResourceOptions", ResourceOptions) is ResourceOptions


def test_signatures():
    assert str(inspect.signature(aiohttp_cors.setup)).startswith("(app: ")
    params = inspect.signature(aiohttp_cors.setup).parameters
    assert params["defaults"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(params) == [
        "app",
        "defaults",
        "csrf_protection",
        "csrf_exempt_prefixes",
        "debug",
        "strict",
        "unsafe",
    ]
    params = inspect.signature(CorsConfig).parameters
    # 0.8.1's parameters first; the write guard's after them, keyword-only, off by default.
    assert list(params) == [
        "app",
        "defaults",
        "router_adapter",
        "csrf_protection",
        "csrf_exempt_prefixes",
        "debug",
        "strict",
        "unsafe",
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[1:])
    assert params["csrf_protection"].default is None
    assert params["debug"].default is None
    params = inspect.signature(aiohttp_cors.enable).parameters
    for name in ("csrf_protection", "debug"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default is None
    params = inspect.signature(CorsConfig.add).parameters
    assert list(params) == ["self", "routing_entity", "config", "webview"]
    assert params["config"].default is None
    assert params["webview"].default is False
    params = inspect.signature(ResourceOptions).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert {name: p.default for name, p in params.items()} == {
        "allow_credentials": False,
        "expose_headers": (),
        "allow_headers": (),
        "max_age": None,
        "allow_methods": None,
    }
    assert list(inspect.signature(CorsViewMixin.get_request_config).parameters) == [
        "request",
        "request_method",
    ]
    assert CorsViewMixin.cors_config is None


def test_setup_stores_config_under_app_key():
    app = web.Application()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cors = aiohttp_cors.setup(app)
        assert app[APP_CONFIG_KEY] is cors
    assert isinstance(APP_CONFIG_KEY, web.AppKey)
    assert "aiohttp_cors" in repr(APP_CONFIG_KEY)
    assert cors.defaults == {}


def test_resource_options_value_semantics():
    a = ResourceOptions(allow_headers=["X-A"], expose_headers=("X-B",), allow_methods=["get"])
    b = ResourceOptions(allow_headers=("x-a",), expose_headers=["X-B"], allow_methods={"GET"})
    assert a == b
    assert hash(a) == hash(b)
    assert a != ResourceOptions()
    assert {a: 1}[b] == 1
    assert a.allow_headers == frozenset({"X-A"})
    assert a.expose_headers == frozenset({"X-B"})
    assert a.allow_methods == frozenset({"GET"})
    assert isinstance(a, tuple)
    assert a._replace(max_age=3).max_age == 3
    assert ResourceOptions(allow_headers="*").allow_headers == "*"
    assert "ResourceOptions(" in repr(a)
    with pytest.raises(TypeError):
        ResourceOptions(True)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.max_age = 5  # type: ignore[misc]


def test_is_method_allowed():
    assert not ResourceOptions().is_method_allowed("GET")
    assert ResourceOptions(allow_methods="*").is_method_allowed("ANYTHING")
    assert ResourceOptions(allow_methods=["GET"]).is_method_allowed("get")
    assert not ResourceOptions(allow_methods=["GET"]).is_method_allowed("PUT")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allow_credentials": 1}, "'allow_credentials' must be boolean, got '1'"),
        ({"allow_credentials": None}, "'allow_credentials' must be boolean, got 'None'"),
        (
            {"expose_headers": "X-A"},
            "'expose_headers' must be either '*', or sequence of strings, got ''X-A''",
        ),
        ({"expose_headers": [1]}, "'expose_headers' must be either '*', or sequence of strings"),
        ({"expose_headers": b"ab"}, "'expose_headers' must be either '*', or sequence of strings"),
        (
            {"allow_headers": 5},
            "'allow_headers' must be either '*', or sequence of strings, got '5'",
        ),
        ({"allow_headers": ["X-A\r\nX-Evil: 1"]}, "'allow_headers' must not contain control"),
        ({"max_age": -1}, "'max_age' must be non-negative integer, got '-1'"),
        ({"max_age": "5"}, "'max_age' must be non-negative integer, got ''5''"),
        ({"max_age": 1.5}, "'max_age' must be non-negative integer"),
        ({"allow_methods": "GET"}, "'allow_methods' must be either '*', or sequence of strings"),
        ({"allow_methods": [1]}, "'allow_methods' must be either '*', or sequence of strings"),
    ],
)
def test_resource_options_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        ResourceOptions(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (5, "Config must be mapping, got '5'"),
        ({1: ResourceOptions()}, "Origin must be string, got '1'"),
        (
            {ORIGIN: 5},
            "Origin options must be either aiohttp_cors.ResourceOptions instance or mapping, "
            "got '5'",
        ),
        ({ORIGIN: {"foo": 1, "bar": 2}}, "Unexpected keywords in resource options: bar,foo"),
        ({ORIGIN: {"max_age": True}}, "'max_age' must be non-negative integer"),
    ],
)
def test_config_errors(config, message):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError) as info:
        cors.add(app.router.add_get("/x", ok), config)
    assert message in str(info.value)
    with pytest.raises(ValueError) as info:
        aiohttp_cors.setup(web.Application(), defaults=config)
    assert message in str(info.value)
    with pytest.raises(ValueError):
        custom_cors(config)


def test_add_errors():
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="Resource or ResourceRoute expected, got 'x'"):
        cors.add("x")
    with pytest.raises(ValueError, match="Resource or ResourceRoute expected, got <Application"):
        cors.add(app)

    resource = app.router.add_resource("/has-options")
    resource.add_route("OPTIONS", ok)
    get = resource.add_route("GET", ok)
    with pytest.raises(ValueError, match="already has OPTIONS handler"):
        cors.add(resource)
    with pytest.raises(ValueError, match="already has OPTIONS handler"):
        cors.add(get)

    with pytest.raises(ValueError, match="already has a '\\*' handler for all methods"):
        cors.add(app.router.add_route("*", "/star", ok))
    with pytest.raises(
        ValueError,
        match=r"web view should be derived from aiohttp_cors.CorsViewMixin "
        r"for working with the library",
    ):
        cors.add(app.router.add_route("*", "/plain-view", web.View))

    twice = app.router.add_resource("/twice")
    route = twice.add_route("GET", ok)
    assert cors.add(twice) is twice
    with pytest.raises(ValueError, match=r"CORS is already configured for .* resource\."):
        cors.add(twice)
    assert cors.add(route) is route
    with pytest.raises(
        ValueError,
        match=r"Can't setup CORS for .* route: CORS already configured on resource .* "
        r"for GET method",
    ):
        cors.add(route)

    later = app.router.add_resource("/later")
    cors.add(later.add_route("GET", ok))
    with pytest.raises(ValueError, match="CORS is already configured"):
        cors.add(later)


def test_add_returns_its_argument_and_creates_no_named_routes(tmp_path):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_get("/x", ok, name="x")
    assert cors.add(route, {ORIGIN: {"allow_credentials": True}}) is route
    static = app.router.add_static("/s", tmp_path, name="static")
    assert cors.add(static) is static
    assert sorted(app.router.named_resources()) == ["static", "x"]


def test_webview_argument_is_deprecated():
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    with pytest.warns(DeprecationWarning, match="webview") as warned:
        cors.add(app.router.add_get("/x", ok), webview=True)
    assert warned[0].filename == __file__  # the warning names the caller's line


async def test_no_warning_in_normal_use(aiohttp_client):
    # pytest runs with warnings as errors (pyproject.toml): any warning fails here.
    class View(web.View, CorsViewMixin):
        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions(allow_headers="*")})
    cors.add(app.router.add_get("/x", ok))
    cors.add(app.router.add_view("/v", View))
    client = await aiohttp_client(app)
    for path in ("/x", "/v"):
        assert (await client.get(path, headers={"Origin": ORIGIN})).status == 200
        resp = await client.options(path, headers=preflight_headers(method="GET"))
        assert resp.status == 200


class RecordingAdapter(AbstractRouterAdapter):
    """A custom adapter, as 0.8.1 allowed: CORS on paths it knows, by path."""

    def __init__(self) -> None:
        self.configs: dict[str, Mapping[str, ResourceOptions]] = {}
        self.webview: list[bool] = []

    def add_preflight_handler(self, routing_entity, handler, webview=False):
        self.webview.append(webview)
        routing_entity.resource.add_route("OPTIONS", handler)

    def is_preflight_request(self, request):
        return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers

    def is_cors_enabled_on_request(self, request):
        return request.path in self.configs

    def set_config_for_routing_entity(self, routing_entity, config):
        self.configs[routing_entity.resource.canonical] = config

    def get_preflight_request_config(self, preflight_request, origin, requested_method):
        return self.configs.get(preflight_request.path, {})

    def get_non_preflight_request_config(self, request):
        return self.configs[request.path]


class AsyncRecordingAdapter(RecordingAdapter):
    """The same, with the configuration look-ups written as coroutines."""

    async def get_preflight_request_config(self, preflight_request, origin, requested_method):
        return super().get_preflight_request_config(preflight_request, origin, requested_method)

    async def get_non_preflight_request_config(self, request):
        return super().get_non_preflight_request_config(request)


@pytest.mark.parametrize("adapter_class", [RecordingAdapter, AsyncRecordingAdapter])
async def test_custom_router_adapter(aiohttp_client, adapter_class):
    app = web.Application()
    adapter = adapter_class()
    cors = CorsConfig(
        app, defaults={"http://default.example": ResourceOptions()}, router_adapter=adapter
    )
    cors.add(app.router.add_put("/x", ok), {ORIGIN: ResourceOptions(allow_headers=("X-A",))})
    app.router.add_get("/plain", ok)
    client = await aiohttp_client(app)

    resp = await client.options("/x", headers=preflight_headers(method="PUT", headers="x-a"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "X-A"
    resp = await client.options("/x", headers=preflight_headers(method="PUT", headers="x-b"))
    assert resp.status == 403
    resp = await client.options("/x")
    assert resp.status == 405
    resp = await client.put("/x", headers={"Origin": "http://default.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://default.example"
    assert resp.headers["Vary"] == "Origin"
    resp = await client.get("/plain", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert adapter.webview == [False]


async def test_custom_router_adapter_in_debug_mode(aiohttp_client):
    app = web.Application()
    cors = CorsConfig(app, router_adapter=RecordingAdapter(), debug=True)
    options = ResourceOptions(allow_headers=("X-A",), allow_methods=("PUT",))
    cors.add(app.router.add_put("/x", ok), {ORIGIN: options})
    cors.add(app.router.add_put("/y", ok), {ORIGIN: ResourceOptions(allow_headers=("X-A",))})
    client = await aiohttp_client(app)
    assert cors.debug is True
    resp = await client.options("/x", headers=preflight_headers(method="PUT", headers="x-b"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
    assert "Access-Control-Allow-Headers" not in resp.headers  # x-b alone was asked
    assert resp.headers["X-CORS-Error"] == "headers are not allowed: X-B"
    resp = await client.options("/x", headers=preflight_headers(origin=OTHER))
    assert resp.status == 403
    assert resp.headers["X-CORS-Error"] == f"origin '{OTHER}' is not allowed"
    # allow_methods=None: the method the adapter answered for is allowed, and shown
    headers = preflight_headers(method="PUT", headers="x-a, x-b")
    async with client.options("/y", headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
        assert resp.headers["Access-Control-Allow-Headers"] == "x-a"
        assert resp.headers["X-CORS-Error"] == "headers are not allowed: X-B"
    cors.debug = False
    resp = await client.options("/x", headers=preflight_headers(method="PUT", headers="x-b"))
    assert resp.status == 403
    assert "X-CORS-Error" not in resp.headers


def test_custom_router_adapter_receives_webview():
    app = web.Application()
    adapter = RecordingAdapter()
    cors = CorsConfig(app, router_adapter=adapter)
    with pytest.warns(DeprecationWarning):
        cors.add(app.router.add_get("/x", ok), webview=True)
    assert adapter.webview == [True]


def test_resource_options_copy_and_pickle():
    import copy
    import pickle

    options = ResourceOptions(allow_headers="*", expose_headers=("X-A",), max_age=5)
    assert copy.deepcopy(options) == options
    assert copy.copy(options) == options
    assert pickle.loads(pickle.dumps(options)) == options
    assert copy.deepcopy({"*": options}) == {"*": options}


def test_the_classifiers_name_every_python_the_tests_run_on():
    """Every version ``./run test`` runs the suite on is a classifier; in CI, where the
    machine has them all, every classifier is a version it runs."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    prefix = "Programming Language :: Python :: 3."
    listed = {c.rsplit(" ", 1)[1] for c in project["classifiers"] if c.startswith(prefix)}
    ran = set(
        subprocess.run(
            ["bash", str(root / "run"), "pythons"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert ran <= listed, (ran, listed)
    if os.environ.get("CI") == "true":
        assert listed == ran, (listed, ran)
    oldest = min(listed, key=lambda version: tuple(map(int, version.split("."))))
    assert project["requires-python"] == f">={oldest}"
