"""reelforge.client, sync and async, against a live `reelforge serve` (real HTTP, real renders):
generate with a progress callback fed by the event stream, get, list and paging, cancel of a
running render, delete, download (decoded with PyAV), and each error class for the status that
raises it. The client imports nothing of the server, so it runs without the server's packages."""

import asyncio
import io
import json
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fastapi.routing
import httpx
import pytest

from reelforge.api.app import create_app
from reelforge.client import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    GenerationFailed,
    NotFoundError,
    RateLimitError,
    ServerError,
    Video,
)
from reelforge.config import Settings
from testkit.support import UNKNOWN_ID, UNKNOWN_KEY, free_port, make_image, probe_mp4, serve_in_thread
from tests.test_architecture import GRAPH

SHORT = {"seconds": 4, "resolution": "720p"}
OPEN = {"Authorization": "Bearer anyone"}  # open mode: any key names the caller
LONG = {"model": "VEO3_1", "seconds": 8, "resolution": "1080p"}  # several seconds of rendering


@pytest.fixture(scope="module")
def sdk(server, key):
    with Client(server.url, server.key(key)) as client:
        yield client


def _own(server) -> Client:
    """A client of a new account, whose list holds only what the test creates."""
    return Client(server.url, server.key(f"client-{uuid.uuid4()}"))


def test_the_client_imports_nothing_of_the_server():
    client = {m: i for m, i in GRAPH.items() if m.startswith("reelforge.client")}
    assert client and all(i <= {"reelforge"} | client.keys() for i in client.values()), client
    # beyond what `import httpx` loads: httpx-sse and the package's version only
    code = (
        "import sys; import httpx; before = set(sys.modules); import reelforge.client; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['httpx_sse', 'reelforge']"


def test_generate_reports_progress_then_downloads_the_video(sdk, tmp_path):
    seen: list[Video] = []
    video = sdk.generate("a lighthouse at dusk", seed=7, on_progress=seen.append, timeout=120, **SHORT)
    assert (video.status, video.progress, video.seed, video.size, video.seconds) == (
        "completed",
        100,
        7,
        "720x1280",  # the native API's default orientation (SHORT names only the resolution)
        4,
    )
    progress = [v.progress for v in seen]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert all(v.status in ("queued", "in_progress") for v in seen[:-1]) and seen[-1].status == "completed"
    assert any(v.eta_seconds is not None for v in seen if v.status == "in_progress"), seen
    assert set(seen[-1].urls) == {"video", "thumbnail", "spritesheet"}
    assert video.completed_at is not None and video.completed_at >= video.created_at

    out = tmp_path / "clip.mp4"
    written = sdk.download(video.id, out)
    assert written == out.stat().st_size
    probe = probe_mp4(out.read_bytes())
    assert (probe.width, probe.height, probe.frames, probe.fps) == (720, 1280, 96, 24)
    thumbnail = io.BytesIO()
    sdk.download(video.id, thumbnail, variant="thumbnail")
    assert thumbnail.getvalue()[:3] == b"\xff\xd8\xff"  # a JPEG
    assert (sdk.get(video.id).status, sdk.get(video.id).urls) == ("completed", None)  # urls: the stream's


def test_first_and_last_frame_from_paths_and_bytes(sdk, tmp_path):
    start = tmp_path / "start.png"
    start.write_bytes(make_image(800, 800))
    video = sdk.generate(
        "morph",
        image=start,
        end_image=make_image(640, 480, "JPEG"),
        aspect_ratio="9:16",
        audio=False,
        **SHORT,
    )
    assert (video.size, video.generate_audio) == ("720x1280", False)
    assert video.raw["has_input_reference"] and video.raw["has_last_frame"]
    with pytest.raises(FileNotFoundError, match="missing.png"):
        sdk.create("x", image=tmp_path / "missing.png")


def test_list_pages_and_iterates_every_video(server):
    with _own(server) as client:
        ids = [client.create(f"video {n}", **SHORT).id for n in range(5)]
        page = client.list(limit=2)
        assert [v.id for v in page.data] == ids[::-1][:2] and page.has_more and page.last_id == ids[3]
        after = client.list(limit=2, after=page.last_id)
        assert [v.id for v in after.data] == ids[::-1][2:4]
        assert [v.id for v in client.iter_videos(page_size=2)] == ids[::-1]
        assert [v.id for v in client.iter_videos(order="asc", page_size=3)] == ids


def test_cancel_of_a_running_video_ends_generate_with_generation_failed(sdk):
    def cancel_once_rendering(video: Video) -> None:
        if video.status == "in_progress" and video.progress >= 3 and not canceled:
            canceled.append(sdk.cancel(video.id))

    canceled: list[Video] = []
    with pytest.raises(GenerationFailed) as failed:
        sdk.generate("cancel me", on_progress=cancel_once_rendering, timeout=120, **LONG)
    video = failed.value.video
    assert (video.status, video.error.code, video.canceled) == ("failed", "canceled", True)
    assert canceled and canceled[0].id == video.id
    assert sdk.get(video.id).canceled
    with pytest.raises(ConflictError) as conflict:
        sdk.download(video.id, io.BytesIO())
    assert conflict.value.code == "video_not_ready"


def test_delete_then_the_video_is_gone(sdk):
    video = sdk.create("short lived", **SHORT)
    sdk.delete(video.id)
    with pytest.raises(NotFoundError):
        sdk.get(video.id)
    with pytest.raises(NotFoundError):
        sdk.wait(video.id)
    with pytest.raises(NotFoundError):
        list(sdk.events(video.id))


def test_each_error_status_raises_its_class(server, sdk, tmp_path):
    with pytest.raises(BadRequestError) as bad:
        sdk.create("x", seconds=5)
    assert (bad.value.status_code, bad.value.param) == (400, "seconds")
    with Client(server.url, UNKNOWN_KEY) as stranger, pytest.raises(AuthenticationError) as unknown:
        stranger.list()
    assert unknown.value.status_code == 401
    with pytest.raises(NotFoundError) as missing:
        sdk.get(UNKNOWN_ID)
    assert missing.value.status_code == 404
    done = sdk.generate("finished", **SHORT)
    with pytest.raises(ConflictError) as finished:
        sdk.cancel(done.id)
    assert finished.value.code == "video_already_finished"

    with server.accounts() as accounts:
        limited = accounts.issue(f"client-limited-{uuid.uuid4()}", rpm=1, credits=Decimal(100)).key
    with Client(server.url, limited) as client:
        client.create("one", **SHORT)
        with pytest.raises(RateLimitError) as limit:
            client.create("two", **SHORT)
    assert (limit.value.status_code, limit.value.code) == (429, "rate_limit_exceeded")
    assert limit.value.retry_after and limit.value.retry_after > 0

    with Client(f"http://127.0.0.1:{free_port()}", "k") as nowhere, pytest.raises(APIConnectionError):
        nowhere.list()
    with _unavailable() as url, Client(url, "k") as client, pytest.raises(ServerError) as down:
        client.get("v")
    assert (down.value.status_code, down.value.message) == (503, "down for maintenance")
    assert not list(tmp_path.iterdir())


class _Maintenance(BaseHTTPRequestHandler):
    """A server in maintenance (as a proxy in front of reelforge answers): 503 to everything."""

    def do_GET(self):
        body = json.dumps({"error": {"message": "down for maintenance", "type": "server_error"}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _unavailable:
    def __enter__(self) -> str:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Maintenance)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_environment_names_the_server_and_key(server, key, monkeypatch):
    monkeypatch.setenv("REELFORGE_SERVER", server.url)
    monkeypatch.setenv("REELFORGE_API_KEY", server.key(key))
    with Client() as client:
        assert client.base_url == server.url
        client.list(limit=1)


def test_async_client_does_it_all(server, key, tmp_path):
    async def main():
        async with AsyncClient(server.url, server.key(f"client-async-{uuid.uuid4()}")) as client:
            seen: list[Video] = []

            async def on_progress(video: Video) -> None:
                seen.append(video)

            video = await client.generate("async lighthouse", on_progress=on_progress, timeout=120, **SHORT)
            assert video.status == "completed" and seen[-1].status == "completed"
            progress = [v.progress for v in seen]
            assert progress == sorted(progress) and len(set(progress)) >= 3, progress
            out = tmp_path / "async.mp4"
            assert await client.download(video.id, out) == out.stat().st_size
            assert probe_mp4(out.read_bytes()).frames == 96

            other = await client.create("second", **SHORT)
            page = await client.list(limit=1)
            assert [v.id for v in page.data] == [other.id] and page.has_more
            assert [v.id async for v in client.iter_videos(page_size=1)] == [other.id, video.id]
            assert (await client.get(video.id)).id == video.id

            running = await client.create("cancel me", **LONG)
            async for snapshot in client.events(running.id):
                if snapshot.status == "in_progress" and snapshot.progress >= 3:
                    await client.cancel(running.id)
                    break
            ended = await client.wait(running.id, timeout=60)
            assert ended.canceled

            await client.delete(other.id)
            with pytest.raises(NotFoundError):
                await client.get(other.id)
            with pytest.raises(BadRequestError):
                await client.create("x", seconds=5)
            with pytest.raises(TimeoutError):
                await client.wait((await client.create("slow", **LONG)).id, timeout=0.5)
        async with AsyncClient(server.url, UNKNOWN_KEY) as stranger:
            with pytest.raises(AuthenticationError):
                await stranger.list()

    asyncio.run(main())


def test_keep_alive_pings_between_events_are_skipped(tmp_path, monkeypatch):
    """The server pings an idle stream (`: ping`); httpx-sse hands each ping after an `id:` on as an
    event without data (CI caught a render slower than the 15 s interval). Here the server pings
    every 20 ms, so every gap between two progress events holds pings."""
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.02)
    app = create_app(Settings(data_dir=tmp_path / "data", workers=1, auth="open"))
    with serve_in_thread(app) as url, Client(url, "anyone") as client:
        raw = client.create("pinged", **SHORT)
        with httpx.stream("GET", f"{url}/v1/videos/{raw.id}/events", headers=OPEN, timeout=60) as stream:
            lines = list(stream.iter_lines())
        assert lines.count(": ping") >= 3 and lines.index(": ping") > lines.index("id: 1"), lines[:20]

        seen: list[Video] = []
        video = client.generate("pinged", on_progress=seen.append, timeout=120, **SHORT)
        assert video.status == "completed" and all(v.id == video.id for v in seen) and len(seen) >= 3

        async def follow() -> list[Video]:
            async with AsyncClient(url, "anyone") as aclient:
                return [v async for v in aclient.events((await aclient.create("pinged", **SHORT)).id)]

        followed = asyncio.run(follow())
        assert followed[-1].status == "completed" and len({v.id for v in followed}) == 1
