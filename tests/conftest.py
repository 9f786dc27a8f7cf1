"""Shared fixtures: one live server for the session (real HTTP over loopback) and its client."""

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
