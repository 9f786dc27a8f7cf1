"""Shared fixtures: one live server for the session (real HTTP over loopback) and its clients, an
account (its issued key) and a Leonardo-style job list of each module's own, a revoked key, a
server that trusts loopback image URLs, a local image host, and for the server-free tests a local
blob store and the media access on it. Plain helpers live in the `testkit` package.

Keys are issued on the server's database (`ServerProcess.key(name)`): tests name accounts, and
`client`, `google_client` and `testkit.native` send the named account's key."""

import os
import tempfile
import threading
import uuid

import httpx
import pytest

# the default data dir (the platform's user data dir) of anything a test starts without --data-dir
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="reelforge-xdg-")

from reelforge.blobs.local import LocalBlobs  # noqa: E402
from reelforge.service.media import Media
from testkit.imageserver import ImageServer
from testkit.leonardo import Jobs, user_id_of
from testkit.support import UNKNOWN_KEY, ServerProcess, client
from testkit.wire import BASE, MEDIA_SECRET, MEDIA_URL_TTL


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
    """The name of an account of the module's own (named after it), so its listings hold only what
    it creates; `server.key(key)` is the account's API key."""
    return f"{request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_')}-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def revoked_key(server) -> str:
    """A key issued on the server's database and revoked since."""
    with server.accounts() as accounts:
        key = accounts.issue("revoked").key
        accounts.revoke(key)
    return key


@pytest.fixture(params=["unknown", "revoked"])
def refused_key(request, revoked_key) -> str:
    """A well-formed key the server refuses with 401: one never issued, or a revoked one."""
    return UNKNOWN_KEY if request.param == "unknown" else revoked_key


@pytest.fixture(scope="module")
def api(server, key):
    """A client sending the module account's key as a Bearer token (the Google dialect modules
    override it)."""
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
    """A blob store in the test's temporary folder, its signed URLs under testkit.wire.BASE."""
    return LocalBlobs(tmp_path, BASE, MEDIA_SECRET, MEDIA_URL_TTL)


@pytest.fixture
def media(blobs) -> Media:
    """The API's media access on `blobs`, for server-free mapping tests."""
    return Media(blobs)
