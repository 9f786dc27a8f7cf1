"""Signed, expiring media URLs and what deleting a job removes, over real HTTP against a server
subprocess (`REELFORGE_AUTH=open`: any key is its own user).

Local media URLs carry the contract of a bucket's presigned URLs: `?expires=<unix>&signature=<hex>`,
fresh on every read; unsigned, altered or expired URLs get 403 in reelforge's own error shape, and
a valid one serves the file with Range and HEAD. Deleting a job deletes its outputs and its input
images, except an input another job still uses, which goes with the last job using it.
"""

import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from reelforge.blobs.local import LocalBlobs
from testkit.leonardo import V1
from testkit.support import ServerProcess, make_image, upload_init_image, wait_for_generation

TTL = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"REELFORGE_AUTH": "open", "REELFORGE_MEDIA_URL_TTL": str(TTL)}
    srv = ServerProcess(tmp_path_factory.mktemp("media-urls") / "data", workers=1, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server):
    headers = {"Authorization": f"Bearer media-urls-{uuid.uuid4()}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
        yield c


def _generate(api: httpx.Client, start_image: str | None = None) -> str:
    parameters = {"prompt": "signed media", "duration": 4}
    if start_image is not None:
        parameters["guidances"] = {"start_frame": [{"image": {"id": start_image, "type": "UPLOADED"}}]}
    resp = api.post("/api/rest/v2/generations", json={"model": "veo-3.1-lite", "parameters": parameters})
    assert resp.status_code == 200, resp.text
    return resp.json()["generate"]["generationId"]


def _finished(api: httpx.Client, generation_id: str) -> dict:
    generation = wait_for_generation(api, generation_id)
    assert generation["status"] == "COMPLETE", generation
    return generation


@pytest.fixture(scope="module")
def video_url(api) -> str:
    return _finished(api, _generate(api))["generated_images"][0]["motionMP4URL"]


def _parts(url: str) -> tuple[str, str, dict[str, str]]:
    """(URL without its query, storage key, query values) of a media URL."""
    split = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    return url.split("?", 1)[0], split.path.removeprefix("/media/"), query


def _with(url: str, **query) -> str:
    base, _, _ = _parts(url)
    return f"{base}?{urlencode(query)}" if query else base


def _signer(server) -> LocalBlobs:
    """A signer with the server's own secret (the data dir's key file, as `_secret` reads it)."""
    secret = bytes.fromhex((server.data_dir / "secret.key").read_text().strip())
    return LocalBlobs(server.data_dir / "media", server.url, secret, TTL)


def assert_forbidden(resp: httpx.Response) -> None:
    assert resp.status_code == 403, (resp.status_code, resp.text)
    if resp.request.method != "HEAD":
        assert resp.json()["error"]["code"] == "forbidden", resp.text


def test_a_handed_out_url_is_signed_and_expires_after_the_ttl(video_url):
    _, key, query = _parts(video_url)
    assert key.endswith(".mp4") and set(query) == {"expires", "signature"}
    assert TTL - 30 <= int(query["expires"]) - time.time() <= TTL + 1
    assert len(query["signature"]) == 64 and int(query["signature"], 16) >= 0


def test_a_signed_url_serves_the_file_with_range_and_head(video_url):
    whole = httpx.get(video_url, timeout=30)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[4:8] == b"ftyp"
    part = httpx.get(video_url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    head = httpx.head(video_url, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(whole.content)


def test_every_read_hands_out_a_fresh_url(api, video_url):
    generation_id = _parts(video_url)[1].split("/")[1]
    time.sleep(1.1)  # expiry is in whole seconds
    again = _finished(api, generation_id)["generated_images"][0]["motionMP4URL"]
    assert _parts(again)[:2] == _parts(video_url)[:2]
    assert int(_parts(again)[2]["expires"]) > int(_parts(video_url)[2]["expires"])
    assert httpx.get(again, timeout=30).status_code == 200
    assert httpx.get(video_url, timeout=30).status_code == 200  # the earlier one holds until it expires


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_unsigned_url_is_403(video_url, method):
    assert_forbidden(httpx.request(method, _with(video_url), timeout=30))
    _, _, query = _parts(video_url)
    assert_forbidden(httpx.request(method, _with(video_url, expires=query["expires"]), timeout=30))
    assert_forbidden(httpx.request(method, _with(video_url, signature=query["signature"]), timeout=30))


def test_an_altered_url_is_403(video_url):
    _, _, query = _parts(video_url)
    expires, signature = query["expires"], query["signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    for altered in (
        {"expires": expires, "signature": flipped},
        {"expires": str(int(expires) + 3600), "signature": signature},  # a longer life
        {"expires": expires, "signature": signature.upper()},
        {"expires": expires, "signature": signature[:-2]},
        {"expires": expires, "signature": "é" * 64},
        {"expires": "1e12", "signature": signature},
        {"expires": "9" * 40, "signature": signature},
    ):
        assert_forbidden(httpx.get(_with(video_url, **altered), timeout=30))
    # the signature of the video does not open its poster (which is there: 403, not 404)
    assert_forbidden(httpx.get(video_url.replace("/0.mp4?", "/0.jpg?"), timeout=30))


def test_an_expired_url_is_403_and_one_signed_alike_but_valid_is_served(server, video_url):
    _, key, _ = _parts(video_url)
    signer = _signer(server)
    past = int(time.time()) - 1
    assert_forbidden(httpx.get(_with(video_url, expires=past, signature=signer.signature(key, past))))
    soon = int(time.time()) + 30
    valid = httpx.get(_with(video_url, expires=soon, signature=signer.signature(key, soon)), timeout=30)
    assert valid.status_code == 200 and valid.content[4:8] == b"ftyp"


def test_an_unknown_key_is_404_signed_or_not(server):
    key = f"outputs/{uuid.uuid4()}/1/0.mp4"
    soon = int(time.time()) + 30
    for query in ("", f"?expires={soon}&signature={_signer(server).signature(key, soon)}"):
        resp = httpx.get(f"{server.url}/media/{key}{query}", timeout=30)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


# deleting a job ----------------------------------------------------------------------------------


def _init_image(api: httpx.Client, image_id: str) -> dict | None:
    resp = api.get(f"{V1}/init-image/{image_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["init_images_by_pk"]


def _delete(api: httpx.Client, generation_id: str) -> None:
    resp = api.delete(f"{V1}/generations/{generation_id}")
    assert resp.status_code == 200 and resp.json()["delete_generations_by_pk"] == {"id": generation_id}


def _upload_files(server, image_id: str) -> list:
    return list((server.data_dir / "media" / "uploads").glob(f"{image_id}.*"))


def test_deleting_a_job_deletes_its_outputs_and_inputs_but_not_a_shared_input(server, api):
    shared = upload_init_image(api, make_image(1280, 720))
    alone = upload_init_image(api, make_image(1280, 720, left=(40, 200, 40)))
    first, second, third = _generate(api, shared), _generate(api, shared), _generate(api, alone)
    outputs = {g: _finished(api, g)["generated_images"][0]["motionMP4URL"] for g in (first, second, third)}
    shared_url = _init_image(api, shared)["url"]
    assert httpx.get(shared_url, timeout=30).status_code == 200

    _delete(api, third)  # its input was used by no other job: gone with it
    assert httpx.get(outputs[third], timeout=30).status_code == 404
    assert not (server.data_dir / "media" / "outputs" / third).exists()
    assert _init_image(api, alone) is None and _upload_files(server, alone) == []

    _delete(api, first)  # the shared input stays while the second job uses it
    assert httpx.get(outputs[first], timeout=30).status_code == 404
    assert _init_image(api, shared) is not None and len(_upload_files(server, shared)) == 1
    assert httpx.get(shared_url, timeout=30).status_code == 200
    assert httpx.get(outputs[second], timeout=30).status_code == 200

    _delete(api, second)  # the last job using it: it goes too
    assert _init_image(api, shared) is None and _upload_files(server, shared) == []
    assert httpx.get(shared_url, timeout=30).status_code == 404
    assert httpx.get(outputs[second], timeout=30).status_code == 404
