"""The operator's keys: `reelforge keys create|list|update|revoke` on the database `serve` uses,
the key shown once and stored only as a hash, the initial admin key `serve` writes to a 0600 file
on a database without keys, and `REELFORGE_AUTH=open` refused off loopback."""

import hashlib
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from testkit.support import ServerProcess

KEY = re.compile(r"rf_[A-Za-z0-9_-]{43}")


def _cli(*args, data: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _create(data: Path, *args) -> str:
    done = _cli("keys", "create", *args, data=data)
    assert done.returncode == 0, done.stderr + done.stdout
    key = done.stdout.strip().splitlines()[-1]
    assert KEY.fullmatch(key), done.stdout
    assert done.stdout.count(key) == 1 and key not in done.stderr
    return key


def _rows(data: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(data / "reelforge.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT k.*, a.balance_e4, a.concurrency FROM api_keys k JOIN accounts a ON a.id = k.account_id"
            " ORDER BY k.created_at"
        ).fetchall()


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_create_list_update_revoke(tmp_path):
    data = tmp_path / "data"
    key = _create(data, "--name", "alice", "--credits", "5", "--rpm", "10", "--concurrency", "2")
    admin = _create(data, "--name", "ops", "--admin")

    alice, ops = _rows(data)
    assert alice["hash"] == hashlib.sha256(key.encode()).hexdigest() and alice["prefix"] == key[:11]
    assert (alice["name"], alice["admin"], alice["rpm"], alice["balance_e4"], alice["concurrency"]) == (
        "alice",
        0,
        10,
        50_000,
        2,
    )
    assert (ops["admin"], ops["rpm"], ops["balance_e4"], ops["concurrency"]) == (1, None, None, None)
    assert alice["account_id"] != ops["account_id"]
    assert _files_holding(tmp_path, key) == [] and _files_holding(tmp_path, admin) == []  # only hashes

    listing = _cli("keys", "list", data=data)
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if "alice" in line)
    for shown in (key[:11], alice["account_id"], "10", "2", "$5", "never"):
        assert shown in line, (shown, line)
    assert "default (600)" in next(line for line in listing.stdout.splitlines() if "ops" in line)
    for secret in (key, admin, alice["hash"], ops["hash"]):
        assert secret not in listing.stdout

    # a second key of alice's account: the account's limits are not the new key's to set
    account = ("--account", alice["account_id"])
    refused = _cli("keys", "create", "--name", "x", *account, "--credits", "1", data=data)
    assert refused.returncode == 2 and "belong to the account" in refused.stdout + refused.stderr
    rotated = _create(data, "--name", "alice-2", *account)
    assert _rows(data)[2]["account_id"] == alice["account_id"] and rotated != key

    done = _cli("keys", "update", key[:11], "--credits", "7.25", "--rpm", "default", data=data)
    assert done.returncode == 0, done.stderr
    alice = _rows(data)[0]
    assert (alice["balance_e4"], alice["rpm"], alice["concurrency"]) == (72_500, None, 2)
    done = _cli("keys", "update", key, "--credits", "unlimited", "--concurrency", "unlimited", data=data)
    assert done.returncode == 0, done.stderr
    assert "credits unlimited, rpm default (600), concurrency unlimited" in done.stdout
    alice = _rows(data)[0]
    assert (alice["balance_e4"], alice["concurrency"]) == (None, None)

    for bad in (("--credits", "-1"), ("--credits", "0.00001"), ("--rpm", "0"), ("--concurrency", "many")):
        done = _cli("keys", "update", key[:11], *bad, data=data)
        assert done.returncode == 2 and bad[0] in done.stdout + done.stderr, bad
    assert _rows(data)[0]["balance_e4"] is None

    done = _cli("keys", "revoke", key[:11], data=data)
    assert done.returncode == 0, done.stderr
    revoked = _rows(data)
    assert revoked[0]["revoked_at"] is not None and revoked[1]["revoked_at"] is None
    line = next(line for line in _cli("keys", "list", data=data).stdout.splitlines() if key[:11] in line)
    assert re.search(r"\d\d:\d\d:\d\d\W*$", line), line  # the last column: when it was revoked

    missing = _cli("keys", "revoke", "rf_nothere", data=data)
    assert missing.returncode == 2 and "no key matches" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_key_the_cli_revokes_is_refused_by_the_running_server_at_once(tmp_path):
    data = tmp_path / "data"
    key = _create(data, "--name", "bob")
    server = ServerProcess(data, workers=0).start()
    try:
        me = httpx.get(f"{server.url}/api/rest/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200, me.text
        assert _cli("keys", "revoke", key[:11], data=data).returncode == 0
        me = httpx.get(f"{server.url}/api/rest/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 401
        assert me.json()["extensions"]["code"] == "unauthorized"  # Leonardo's error shape
    finally:
        server.stop()
    assert not (data / "initial-admin.key").exists()  # the database had a key already


def test_serve_writes_an_initial_admin_key_once(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data, workers=0).start()
    try:
        path = data / "initial-admin.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = path.read_text().strip()
        assert KEY.fullmatch(key)
        (row,) = _rows(data)
        assert row["admin"] == 1 and row["hash"] == hashlib.sha256(key.encode()).hexdigest()
        keys = httpx.get(f"{server.url}/admin/v1/keys", headers={"Authorization": f"Bearer {key}"})
        assert keys.status_code == 200 and keys.json()["data"][0]["prefix"] == key[:11]
    finally:
        server.stop()
    log = (tmp_path / f"server-{server.port}.log").read_text()
    assert str(path.resolve()) in log  # the operator is told where the key is ...
    assert _files_holding(tmp_path, key) == [path]  # ... and it is nowhere else: no log, no database

    again = ServerProcess(data, workers=0).start()  # a database with a key: nothing new is issued
    again.stop()
    assert path.read_text().strip() == key and len(_rows(data)) == 1


def test_open_mode_is_refused_off_loopback_and_warned_about_on_it(tmp_path):
    env = {"REELFORGE_AUTH": "open"}
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.com"):
        done = _cli("serve", "--host", host, "--port", "1", data=tmp_path / "refused", env=env)
        assert done.returncode == 2, (host, done.stdout, done.stderr)
        assert "loopback" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "refused").exists()

    data = tmp_path / "open"
    server = ServerProcess(data, workers=0, env=env).start()
    try:
        for anything in ("anything", "something else"):
            me = httpx.get(f"{server.url}/api/rest/v1/me", headers={"Authorization": f"Bearer {anything}"})
            assert me.status_code == 200, me.text
    finally:
        server.stop()
    assert "warning" in (tmp_path / f"server-{server.port}.log").read_text()
    assert not (data / "initial-admin.key").exists()
