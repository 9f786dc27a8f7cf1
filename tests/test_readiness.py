"""Readiness: `/readyz` on live servers (the default, a catalog entry whose weights are missing, the
same entry marked unavailable, a PostgreSQL database that goes away, a Celery broker that does not
answer), the start-up warning of `serve`, and `reelforge doctor` as a subprocess."""

import json
import os
import sqlite3
import subprocess
import sys

import httpx
import psycopg
import pytest

from reelforge.db.connect import migrate, open_database
from testkit.catalogs import BROKEN
from testkit.databases import PG_ADMIN, postgres_database
from testkit.native import nothing_created
from testkit.support import ServerProcess, client, free_port

PRICES = {"silent": {"720p": 0.03}}
PREVIEW = {
    "id": "veo-3.1-lite",
    "engine": "preview",
    "durations": [4],
    "default_duration": 4,
    "sizes": ["1280x720"],
    "price_per_second": PRICES,
}
UNAVAILABLE = {**BROKEN, "available": False, "unavailable_reason": "weights not shipped with this box"}


def _catalog(tmp_path, *entries) -> str:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": list(entries)}))
    return str(path)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A server whose catalog has an entry that cannot run here."""
    tmp = tmp_path_factory.mktemp("broken")
    env = {"REELFORGE_CATALOG_PATH": _catalog(tmp, PREVIEW, BROKEN)}
    srv = ServerProcess(tmp / "data", env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """The same entry, marked unavailable in the catalog."""
    tmp = tmp_path_factory.mktemp("marked")
    env = {"REELFORGE_CATALOG_PATH": _catalog(tmp, PREVIEW, UNAVAILABLE)}
    srv = ServerProcess(tmp / "data", env=env).start()
    yield srv
    srv.stop()


def _readyz(server: ServerProcess, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{server.url}/readyz", headers=headers, timeout=30)


def _admin(server: ServerProcess) -> str:
    return server.key("readiness-admin", admin=True)


def test_ready_on_the_default_with_details_for_the_admin_only(server):
    assert _readyz(server).json() == {"status": "ready"}
    assert _readyz(server, server.key("readiness-user")).json() == {"status": "ready"}
    resp = _readyz(server, _admin(server))
    assert resp.status_code == 200
    checks = resp.json()["checks"]
    assert set(checks) == {"database", "queue", "storage", "catalog"}
    assert all(check["ok"] for check in checks.values()), checks
    assert "2 embedded worker threads" in checks["queue"]["detail"]
    assert "newest migration" in checks["database"]["detail"]
    assert not [p for p in (server.data_dir / "media").iterdir() if p.name.startswith(".readiness")]


def test_a_model_that_cannot_run_makes_the_server_not_ready(broken):
    for key in (None, broken.key("readiness-user")):
        resp = _readyz(broken, key)
        assert (resp.status_code, resp.json()) == (503, {"status": "not ready"})
    resp = _readyz(broken, _admin(broken))
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert not checks["catalog"]["ok"]
    assert "broken-ltx" in checks["catalog"]["detail"]
    assert f"{BROKEN['engine_options']['weights']} does not exist" in checks["catalog"]["detail"]
    assert checks["database"]["ok"] and checks["queue"]["ok"] and checks["storage"]["ok"]
    # /healthz stays liveness: the server is up.
    assert httpx.get(f"{broken.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_serve_warns_at_start_about_a_model_that_cannot_run(broken):
    log = (broken.data_dir.parent / f"server-{broken.port}.log").read_text()
    [warning] = [line for line in log.splitlines() if "broken-ltx" in line]
    assert "catalog model broken-ltx cannot run here" in warning
    assert f"{BROKEN['engine_options']['weights']} does not exist" in warning
    assert "veo-3.1-lite" not in log  # models that can run are not named


def test_a_model_marked_unavailable_keeps_the_server_ready(marked):
    assert _readyz(marked).json() == {"status": "ready"}
    checks = _readyz(marked, _admin(marked)).json()["checks"]
    assert checks["catalog"]["ok"]
    log = (marked.data_dir.parent / f"server-{marked.port}.log").read_text()
    assert "broken-ltx" not in log


def test_a_create_for_a_model_marked_unavailable_is_refused(marked):
    name = "readiness-creator"
    with client(marked, name) as http, nothing_created(marked, name):
        leonardo = http.post(
            "/api/rest/v2/generations",
            json={"model": "broken-ltx", "parameters": {"prompt": "a fox", "duration": 4, "audio": False}},
        )
        assert leonardo.status_code == 400
        assert leonardo.json()["error"] == (
            "model 'broken-ltx' is not available on this server: weights not shipped with this box"
        )
        assert leonardo.json()["extensions"]["status"] == 400

        native = http.post("/v1/videos", json={"model": "broken-ltx", "prompt": "a fox", "seconds": "4"})
        assert native.status_code == 400
        error = native.json()["error"]
        assert error["param"] == "model" and error["type"] == "invalid_request_error"
        assert "not available on this server" in error["message"]
    with client(marked, name) as http:  # the model beside it still works
        assert http.post("/v1/videos", json={"prompt": "a fox", "seconds": "4"}).status_code == 200


def test_not_ready_while_postgresql_refuses_the_database(tmp_path):
    """PostgreSQL refuses this server's database (connections ended, new ones not allowed): 503,
    and no details even for an admin (no key can be checked); once it answers again, ready."""
    with postgres_database() as url:
        name = url.rsplit("/", 1)[1]
        srv = ServerProcess(tmp_path / "data", env={"REELFORGE_DATABASE_URL": url}).start()
        try:
            admin = _admin(srv)
            assert _readyz(srv, admin).status_code == 200
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
                )
                down = _readyz(srv, admin)
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (down.status_code, down.json()) == (503, {"status": "not ready"})
            assert _readyz(srv, admin).json()["checks"]["database"]["ok"]
        finally:
            srv.stop()


@pytest.mark.parametrize("broker", ["closed port", "redis"])
def test_the_celery_broker_must_answer(tmp_path, broker):
    url = f"redis://127.0.0.1:{free_port()}/0" if broker == "closed port" else "redis://127.0.0.1:6379/15"
    env = {"REELFORGE_QUEUE": "celery", "REELFORGE_BROKER_URL": url}
    srv = ServerProcess(tmp_path / "data", workers=0, env=env).start()
    try:
        resp = _readyz(srv, _admin(srv))
        queue = resp.json()["checks"]["queue"]
        if broker == "redis":
            assert resp.status_code == 200 and queue == {
                "ok": True,
                "detail": "broker redis://:**@127.0.0.1:6379/15 answers",
            }  # kombu masks
        else:
            assert resp.status_code == 503 and not queue["ok"]
            assert "Connection refused" in queue["detail"], queue
            assert _readyz(srv).json() == {"status": "not ready"}
    finally:
        srv.stop()


# --- reelforge doctor ------------------------------------------------------------------------------


def _doctor(tmp_path, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "reelforge", "doctor", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _lines(done) -> dict[str, str]:
    """doctor's lines by what they check: 'ok' or 'problem' and the rest of the line."""
    out = {}
    for line in done.stdout.splitlines():
        mark, _, text = line.partition(" ")
        if mark in ("ok", "problem"):
            out[text.strip().split(":")[0]] = f"{mark} {text.strip()}"
    return out


def test_doctor_on_the_default_catalog(tmp_path):
    done = _doctor(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = _lines(done)
    assert lines["CUDA devices"].startswith("ok CUDA devices: none (torch 2.13")  # torch installed, CPU only
    assert lines["codecs"] == "ok codecs: libx264 and aac encoders in PyAV " + __import__("av").__version__
    assert "not created yet" in lines["database"]
    assert not (tmp_path / "data" / "reelforge.db").exists()  # doctor creates no database
    assert lines["storage"] == "ok storage: write, read and delete of a probe object work"
    assert lines["model veo-3.1-lite (preview)"].startswith("ok")
    assert "queue" not in lines  # in-process: no broker


def test_doctor_reports_a_broken_entry_and_the_install_hint_without_torch(tmp_path):
    catalog = _catalog(tmp_path, PREVIEW, BROKEN)
    no_torch = tmp_path / "no-torch"  # torch made absent for this process: `import torch` fails
    no_torch.mkdir()
    (no_torch / "sitecustomize.py").write_text("import sys\nsys.modules['torch'] = None\n")
    path = os.pathsep.join([str(no_torch), os.environ.get("PYTHONPATH", "")])
    done = _doctor(tmp_path, "--catalog", catalog, env={"PYTHONPATH": path})
    assert done.returncode == 1, done.stdout + done.stderr
    lines = _lines(done)
    hint = "pip install 'reelforge[diffusers]'"
    assert lines["torch"] == f"ok torch: not installed (diffusers engines cannot run; install with: {hint})"
    problem = lines["model broken-ltx (ltx)"]
    assert problem.startswith("problem") and f"needs torch: {hint}" in problem
    assert f"{BROKEN['engine_options']['weights']} does not exist" in problem
    assert "Traceback" not in done.stderr


def test_doctor_with_the_entry_marked_unavailable_exits_0(tmp_path):
    done = _doctor(tmp_path, "--catalog", _catalog(tmp_path, PREVIEW, UNAVAILABLE))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "marked unavailable in the catalog: weights not shipped" in _lines(done)["model broken-ltx (ltx)"]


def test_doctor_refuses_a_database_a_newer_reelforge_migrated(tmp_path):
    database = tmp_path / "reelforge.db"
    engine = open_database(f"sqlite:///{database}")
    migrate(engine)
    engine.dispose()
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    done = _doctor(tmp_path, "--database-url", f"sqlite:///{database}")
    assert done.returncode == 1
    assert "schema at revision from_the_future, unknown to this reelforge" in _lines(done)["database"]


def test_doctor_checks_the_broker_in_celery_mode(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = _doctor(tmp_path, env={"REELFORGE_QUEUE": "celery", "REELFORGE_BROKER_URL": url})
    assert done.returncode == 1
    assert _lines(done)["queue"].startswith("problem queue: OperationalError")
