"""Shared fixtures: one live server for the session (real HTTP over loopback) and its client."""

import httpx
import pytest

from tests.support import ServerProcess, client


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
