"""Structured logs of a live `reelforge serve`: with REELFORGE_LOG_FORMAT=json every stderr line is
a JSON object with an ISO 8601 UTC timestamp and a level, and a job logs its start and its end with
its id (a failure with its code, never the prompt); the text format stays one readable line per
record; REELFORGE_LOG_LEVEL=WARNING hides the info lines."""

import json
import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from testkit.catalogs import BROKEN, catalog_with
from testkit.support import ServerProcess, client

PROMPT = "a secret garden at dawn, remembered only by its owner"
VIDEO = {"prompt": PROMPT, "model": "veo-3.1-lite", "seconds": "4", "size": "1280x720"}
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")


def start(root, **env: str) -> ServerProcess:
    env = {"REELFORGE_CATALOG_PATH": str(catalog_with(root / "catalog.json", BROKEN)), **env}
    return ServerProcess(root / "data", env=env, separate_stderr=True).start()


def finish(api: httpx.Client, video: dict, timeout: float = 120) -> dict:
    """The video once it has finished, plus `job_id`: the plain job id the logs name it by."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = api.get(f"/v1/videos/{video['id']}").json()
        if video["status"] in ("completed", "failed"):
            return {**video, "job_id": video["id"].removeprefix("video_")}
        time.sleep(0.2)
    raise TimeoutError(video["id"])


def wait_for_line(server: ServerProcess, needle: str, timeout: float = 10) -> str:
    """The server's stderr once a line holding `needle` was written (records reach it after the API
    answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.stderr_path.read_text()
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"no line with {needle!r} in:\n{server.stderr_path.read_text()}")


@pytest.fixture(scope="module")
def json_server(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("json-logs"), REELFORGE_LOG_FORMAT="json")
    yield server
    server.stop()


def test_json_logs_have_a_line_per_job_start_and_end_with_its_id(json_server):
    with client(json_server, "logs-json", timeout=60) as api:
        done = finish(api, api.post("/v1/videos", json=VIDEO).json())
        failed = finish(api, api.post("/v1/videos", json={**VIDEO, "model": BROKEN["id"]}).json())
    assert (done["status"], failed["status"]) == ("completed", "failed")
    text = wait_for_line(json_server, "failed (engine_unavailable)")

    records = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    for record in records:
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), record
        at = datetime.fromisoformat(record["timestamp"])
        assert at.utcoffset() == UTC.utcoffset(None), record
        assert {"logger", "message"} <= record.keys()
    assert PROMPT not in text

    def of_job(job_id: str) -> list[dict]:
        return [r for r in records if r.get("job_id") == job_id]

    started, ended = of_job(done["job_id"])
    assert (started["level"], started["model"], started["engine"], started["attempt"]) == (
        "INFO",
        "veo-3.1-lite",
        "preview",
        1,
    )
    assert ended["status"] == "succeeded" and ended["seconds"] > 0 and "succeeded" in ended["message"]

    started, ended = of_job(failed["job_id"])
    assert (started["model"], started["engine"]) == (BROKEN["id"], "ltx")
    assert (ended["level"], ended["status"], ended["failure_code"]) == (
        "ERROR",
        "failed",
        "engine_unavailable",
    )

    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(f"/v1/videos/{done['id']}" in r["message"] for r in access)  # uvicorn's lines too


def test_text_logs_at_warning_are_readable_lines_without_the_info_ones(tmp_path):
    server = start(tmp_path, REELFORGE_LOG_LEVEL="warning")
    try:
        with client(server, "logs-text", timeout=60) as api:
            done = finish(api, api.post("/v1/videos", json=VIDEO).json())
            failed = finish(api, api.post("/v1/videos", json={**VIDEO, "model": BROKEN["id"]}).json())
        assert (done["status"], failed["status"]) == ("completed", "failed")
        text = wait_for_line(server, f"job {failed['job_id']} failed (engine_unavailable)")
    finally:
        server.stop()
    lines = text.splitlines()
    assert all(TEXT_LINE.match(line) for line in lines if not line.startswith((" ", "Traceback"))), text
    assert any(re.match(TEXT_LINE.pattern + f"job {failed['job_id']} failed", line) for line in lines)
    assert " INFO " not in text and done["job_id"] not in text  # no start or success lines, no access log
    assert PROMPT not in text
