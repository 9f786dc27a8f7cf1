"""Shared fixtures: one live server for the session (real HTTP over loopback) and its clients, a key
and a Leonardo-style job list of each module's own, a server that trusts loopback image URLs, a
local image host, and for the server-free tests a local blob store and the media access on it. Plain
helpers live in the `testkit` package."""

import threading
import uuid

import httpx
import pytest

from reelforge.blobs.local import LocalBlobs
from reelforge.service.media import Media
from testkit.imageserver import ImageServer
from testkit.leonardo import Jobs, user_id_of
from testkit.support import ServerProcess, client
from testkit.wire import BASE


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("server") / "data", workers=2).start()
    yield srv
    srv.stop()


@pytest.fixture
def http(server):
    with client(server) as c:
        yield c


@pytest.fixture(scope="module")
def anonymous(server):
    """A client that sends no API key."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def key(request) -> str:
    """An API key of the module's own (named after it), so its listings hold only what it creates."""
    return f"{request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_')}-{uuid.uuid4()}"


@pytest.fixture(scope="module")
def api(server, key):
    """A client sending the module's key as a Bearer token (the Google dialect modules override it)."""
    with client(server, key=key, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def jobs(api) -> Jobs:
    """The module key's generations, read through Leonardo's list."""
    return Jobs(api, user_id_of(api))


@pytest.fixture(scope="module")
def trusting_server(tmp_path_factory):
    """A server whose image-fetch allowlist trusts loopback, as a deployment on a trusted network."""
    env = {"REELFORGE_IMAGE_FETCH_ALLOWLIST": "127.0.0.1"}
    srv = ServerProcess(tmp_path_factory.mktemp("trusting") / "data", workers=1, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def image_host():
    """testkit's ImageServer on 127.0.0.1, for the module."""
    srv = ImageServer()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def blobs(tmp_path) -> LocalBlobs:
    """A blob store in the test's temporary folder, its URLs under testkit.wire.BASE."""
    return LocalBlobs(tmp_path, BASE)


@pytest.fixture
def media(blobs) -> Media:
    """The API's media access on `blobs`, for server-free mapping tests."""
    return Media(blobs)
