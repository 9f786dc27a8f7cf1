"""A job running when the server dies (SIGKILL) is picked up again on restart and completes."""

import time

import httpx
import pytest

from testkit.support import ServerProcess, client, probe_mp4, wait_for_generation


def _running(srv: ServerProcess) -> int:
    return srv.job_counts()["running"]


def test_killed_render_completes_after_restart(tmp_path):
    data = tmp_path / "data"
    srv = ServerProcess(data, workers=1).start()
    try:
        with client(srv) as http:
            body = {"model": "VEO3_1", "parameters": {"prompt": "survive a crash", "mode": "RESOLUTION_1080"}}
            gen_id = http.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
            deadline = time.monotonic() + 30
            while _running(srv) == 0:
                assert time.monotonic() < deadline, "job never started"
                time.sleep(0.05)
            time.sleep(0.5)  # mid-render: an 8 s 1080p clip takes several seconds
            mid_render = http.get(f"/api/rest/v1/generations/{gen_id}")
            assert mid_render.status_code == 200, mid_render.text
            assert mid_render.json()["generations_by_pk"]["status"] == "PENDING"  # killed mid-render
            srv.kill()
            with pytest.raises(httpx.TransportError):  # the server is really gone
                http.get("/healthz")
        leftovers = list((data / "media").rglob("*")) + list((data / "scratch").rglob("*"))

        srv = ServerProcess(data, workers=1, port=srv.port).start()
        with client(srv) as http:
            gen = wait_for_generation(http, gen_id)
            assert gen["status"] == "COMPLETE"
            probe = probe_mp4(httpx.get(gen["generated_images"][0]["motionMP4URL"]).content)
            assert (probe.width, probe.height, probe.frames) == (1920, 1080, 192)
        files = sorted(str(p.relative_to(data / "media")) for p in (data / "media").rglob("*") if p.is_file())
        assert files == [f"outputs/{gen_id}/2/0.jpg", f"outputs/{gen_id}/2/0.mp4"], (
            f"orphans left after restart (before: {leftovers})"
        )
        assert not [p for p in (data / "scratch").rglob("*") if p.is_file()]
    finally:
        srv.stop()
