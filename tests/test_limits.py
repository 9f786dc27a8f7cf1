"""Bounded text and bounded work (issue 10, findings 1 and 6), over real HTTP against the session
server: every text field has a limit, checked before anything is stored; whitespace-only prompts
and invalid UTF-8 in forms are refused; the preview engine lays out any prompt quickly and stops
before doing so when canceled; list pages have a maximum size.

Each refusal is a 400 in the dialect's own error shape naming the field, and creates nothing.
"""

import time

import httpx
import pytest

from reelforge.core.request import MAX_NAME, MAX_NEGATIVE_PROMPT, MAX_PROMPT, MAX_URI, GenerationRequest
from reelforge.engines.base import Canceled, RenderContext
from reelforge.engines.preview import PreviewEngine
from testkit.google import google_client
from testkit.native import nothing_created

GEMINI = "/v1beta/models/veo-3.1-lite:predictLongRunning"
VERTEX = "/v1/projects/p/locations/l/publishers/google/models/veo-3.1-lite:predictLongRunning"
LEO_T2V = "/api/rest/v1/generations-text-to-video"
LEO_V2 = "/api/rest/v2/generations"
AIML = "/v2/video/generations"
HIGHWAY_T2V = "/v3/async/veo-3.1-lite-t2v"
HIGHWAY_I2V = "/v3/async/veo-3.1-lite-i2v"
VIDEOS = "/v1/videos"
IMAGE_URL = "https://example.com/a.png"  # never fetched: every body here is refused before that


@pytest.fixture(scope="module")
def google(server, key):
    with google_client(server, key) as c:
        yield c


def refused_field(resp: httpx.Response) -> str | None:
    """The field a 400 names, read from whichever dialect's error shape it is in; no stack trace."""
    assert resp.status_code == 400, (resp.status_code, resp.text)
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    body = resp.json()
    if "extensions" in body:  # Leonardo: path ["parameters", "prompt"]
        return ".".join(body["path"]) or None
    if "requestId" in body:  # AI/ML API: the message starts with the field
        return body["message"].split(":", 1)[0]
    if "reason" in body:  # HighwayAPI (Novita)
        return body["metadata"].get("field")
    error = body["error"]
    if "status" in error:  # Google: a google.rpc.BadRequest detail
        return error["details"][0]["fieldViolations"][0]["field"]
    return error["param"]  # OpenAI videos, reelforge's own


def leonardo_v2(**parameters) -> dict:
    return {"model": "veo-3.1-lite", "parameters": {"prompt": "p", **parameters}}


def gemini(prompt: str = "p", **parameters) -> dict:
    return {"instances": [{"prompt": prompt}], "parameters": parameters}


def multipart(*parts: tuple[bytes, bytes]) -> tuple[bytes, dict]:
    """A multipart body of text parts (name, value) as raw bytes, so they can be invalid UTF-8."""
    boundary = b"limitsboundary"
    body = b"".join(
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + name
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in parts
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}
    return body + b"--" + boundary + b"--\r\n", headers


# finding 1: the reproducer, and the server-wide prompt maximum ------------------------------------


def test_a_100k_one_word_prompt_to_gemini_is_refused_at_once(server, key, google):
    body = gemini("p" * 100_000)
    with nothing_created(server, key):
        started = time.monotonic()
        resp = google.post(GEMINI, json=body)
        elapsed = time.monotonic() - started
    assert refused_field(resp) == "instances[0].prompt"
    assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert f"at most {MAX_PROMPT} characters" in resp.json()["error"]["message"]
    assert elapsed < 5, elapsed  # generous: refused on parsing, long before any render


@pytest.mark.parametrize("dialect", ["gemini", "vertex", "openai"])
def test_a_prompt_of_exactly_the_maximum_is_taken_one_more_is_not(server, key, google, api, dialect):
    def post(prompt: str) -> httpx.Response:
        if dialect == "openai":
            return api.post(VIDEOS, json={"prompt": prompt, "seconds": "4"})
        return google.post(GEMINI if dialect == "gemini" else VERTEX, json=gemini(prompt, durationSeconds=4))

    with nothing_created(server, key):
        assert refused_field(post("q" * (MAX_PROMPT + 1))) in ("instances[0].prompt", "prompt")
    resp = post("q" * MAX_PROMPT)
    assert resp.status_code == 200, resp.text
    job_id = resp.json()["id"] if dialect == "openai" else resp.json()["name"].rsplit("/", 1)[1]
    video = api.get(f"{VIDEOS}/{job_id}").json()
    assert video["prompt"] == "q" * MAX_PROMPT  # stored whole
    assert api.delete(f"{VIDEOS}/{job_id}").status_code == 200  # spare the shared workers the render


# every dialect: over-long text fields are 400 naming the field, in the dialect's shape --------------

TOO_LONG = [
    # Leonardo's documented limits
    (LEO_V2, leonardo_v2(prompt="p" * 10_000), "parameters.prompt"),
    (LEO_V2, leonardo_v2(negative_prompt="n" * 1001), "parameters.negative_prompt"),
    (LEO_V2, {**leonardo_v2(), "model": "m" * (MAX_NAME + 1)}, "model"),
    (
        LEO_V2,
        leonardo_v2(guidances={"start_frame": [{"image": {"id": "i" * (MAX_NAME + 1), "type": "UPLOADED"}}]}),
        "parameters.guidances.start_frame.0.image.id",
    ),
    (LEO_T2V, {"prompt": "p" * 10_000}, "prompt"),
    (LEO_T2V, {"prompt": "p", "negativePrompt": "n" * 1001}, "negativePrompt"),
    (LEO_T2V, {"prompt": "p", "model": "m" * (MAX_NAME + 1)}, "model"),
    (LEO_T2V, {"prompt": "p", "promptEnhanceInstruction": "i" * 10_000}, "promptEnhanceInstruction"),
    (LEO_T2V, {"prompt": "p", "styleIds": ["s" * (MAX_NAME + 1)]}, "styleIds.0"),
    (LEO_T2V, {"prompt": "p", "styleIds": ["s"] * 101}, "styleIds"),
    (LEO_T2V, {"prompt": "p", "elements": [{"akUUID": "a" * (MAX_NAME + 1)}]}, "elements.0.akUUID"),
    ("/api/rest/v1/generations-motion-svd", {"imageId": "i" * (MAX_NAME + 1)}, "imageId"),
    ("/api/rest/v1/init-image", {"extension": "x" * (MAX_NAME + 1)}, "extension"),
    # AI/ML API
    (AIML, {"model": "veo-3.1-lite", "prompt": "p" * 10_001}, "prompt"),
    (AIML, {"model": "veo-3.1-lite", "prompt": "p", "negative_prompt": "n" * 10_001}, "negative_prompt"),
    (AIML, {"model": "m" * (MAX_NAME + 1), "prompt": "p"}, "model"),
    (AIML, {"model": "veo-3.1-lite", "prompt": "p", "provider": "x" * (MAX_NAME + 1)}, "provider"),
    # HighwayAPI
    (HIGHWAY_T2V, {"prompt": "p" * 2049}, "prompt"),
    (HIGHWAY_I2V, {"prompt": "p" * 10_001, "image": IMAGE_URL}, "prompt"),
    (HIGHWAY_I2V, {"prompt": "p", "image": IMAGE_URL, "negative_prompt": "n" * 10_001}, "negative_prompt"),
    # Gemini API and Vertex AI: server-wide limits
    (GEMINI, gemini(negativePrompt="n" * (MAX_NEGATIVE_PROMPT + 1)), "parameters.negativePrompt"),
    (GEMINI, gemini(resolution="r" * (MAX_NAME + 1)), "parameters.resolution"),
    (
        GEMINI,
        {"instances": [{"prompt": "p", "image": {"uri": "https://e.com/" + "u" * MAX_URI}}]},
        "instances[0].image.uri",
    ),
    (
        GEMINI,
        {"instances": [{"prompt": "p", "image": {"bytesBase64Encoded": "AAAA", "mimeType": "m" * 300}}]},
        "instances[0].image.mimeType",
    ),
    (VERTEX, gemini(storageUri="gs://" + "b" * MAX_URI), "parameters.storageUri"),
    (VERTEX, gemini(pubsubTopic="t" * (MAX_URI + 1)), "parameters.pubsubTopic"),
    # OpenAI videos
    (VIDEOS, {"prompt": "p", "negative_prompt": "n" * (MAX_NEGATIVE_PROMPT + 1)}, "negative_prompt"),
    (VIDEOS, {"prompt": "p", "model": "m" * (MAX_NAME + 1)}, "model"),
    (VIDEOS, {"prompt": "p", "size": "1" * (MAX_NAME + 1)}, "size"),
    (VIDEOS, {"prompt": "p", "seconds": "4" * (MAX_NAME + 1)}, "seconds"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), TOO_LONG, ids=[f"{p.rsplit('/', 1)[-1]}-{f}" for p, _, f in TOO_LONG]
)
def test_an_over_long_text_field_is_400_naming_it(server, key, api, path, body, field):
    with nothing_created(server, key):
        resp = api.post(path, json=body)
    assert refused_field(resp) == field


# finding 6: whitespace-only prompts, every dialect -------------------------------------------------

BLANK = " \t\n\u3000 "
BLANK_PROMPTS = [
    (LEO_T2V, {"prompt": BLANK}, "prompt"),
    (LEO_V2, leonardo_v2(prompt=BLANK), "parameters.prompt"),
    (AIML, {"model": "veo-3.1-lite", "prompt": BLANK}, "prompt"),
    (HIGHWAY_T2V, {"prompt": BLANK}, "prompt"),
    (HIGHWAY_I2V, {"prompt": BLANK, "image": IMAGE_URL}, "prompt"),
    (GEMINI, gemini(BLANK), "instances[0].prompt"),
    (VERTEX, gemini(BLANK), "instances[0].prompt"),
    (VIDEOS, {"prompt": BLANK}, "prompt"),
]


@pytest.mark.parametrize(("path", "body", "field"), BLANK_PROMPTS, ids=[p for p, _, _ in BLANK_PROMPTS])
def test_a_whitespace_only_prompt_is_400_naming_it(server, key, api, path, body, field):
    with nothing_created(server, key):
        resp = api.post(path, json=body)
    assert refused_field(resp) == field
    assert "whitespace" in resp.text


def test_a_whitespace_only_or_over_long_multipart_prompt_is_400(server, key, api):
    for prompt in (b"   ", b"p" * (MAX_PROMPT + 1)):
        body, headers = multipart((b"prompt", prompt))
        with nothing_created(server, key):
            assert refused_field(api.post(VIDEOS, content=body, headers=headers)) == "prompt"


# finding 6: invalid UTF-8 in a form is refused, valid UTF-8 is kept as sent ------------------------


@pytest.mark.parametrize(
    "parts",
    [
        [(b"prompt", b"caf\xe9 au lait")],  # latin-1, not UTF-8
        [(b"prompt", b"a fox"), (b"negative_prompt", b"\xff\xfe")],
        [(b"prompt", b"a fox"), (b"seconds", b"\xc3")],  # a cut multi-byte sequence
    ],
)
def test_invalid_utf8_in_a_multipart_field_is_400_naming_it(server, key, api, parts):
    body, headers = multipart(*parts)
    with nothing_created(server, key):
        resp = api.post(VIDEOS, content=body, headers=headers)
    assert refused_field(resp) == parts[-1][0].decode()
    assert "utf-8" in resp.json()["error"]["message"]


@pytest.mark.parametrize("body", [b"prompt=caf%E9", b"prompt=caf\xe9", b"prompt=a&negative_prompt=%ff"])
def test_invalid_utf8_in_a_urlencoded_form_is_400(server, key, api, body):
    headers = {"content-type": "application/x-www-form-urlencoded"}
    with nothing_created(server, key):
        resp = api.post(VIDEOS, content=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert "utf-8" in resp.json()["error"]["message"]


def test_invalid_utf8_in_the_upload_form_is_400(anonymous):
    body, headers = multipart((b"asset_id", b"\xff"), (b"signature", b"s"))
    resp = anonymous.post("/uploads", content=body, headers=headers)
    assert refused_field(resp) == "asset_id"


def test_utf8_form_text_is_stored_exactly_as_sent(api):
    prompt = "caf\u00e9 \u2603 \u4e2d\u6587 na\u00efve"
    body, headers = multipart((b"prompt", prompt.encode()), (b"seconds", b"4"))
    sent = [(api.post(VIDEOS, content=body, headers=headers), prompt)]
    form = {"content-type": "application/x-www-form-urlencoded"}
    sent.append(
        (api.post(VIDEOS, content=b"seconds=4&prompt=caf%C3%A9+%E2%98%83", headers=form), "caf\u00e9 \u2603")
    )
    for resp, expected in sent:
        assert resp.status_code == 200, resp.text
        assert resp.json()["prompt"] == expected
        api.delete(f"{VIDEOS}/{resp.json()['id']}")  # spare the shared workers the render


# finding 1: the preview engine's work is bounded, and a cancel comes first --------------------------


def title_card(prompt: str, canceled: bool = False) -> RenderContext:
    request = GenerationRequest(
        model="veo-3.1-lite", prompt=prompt, width=1280, height=720, duration=4, audio=False
    )
    return RenderContext(request, 7, None, None, progress=lambda f: None, is_canceled=lambda: canceled)


def test_a_one_word_prompt_of_the_maximum_length_lays_out_fast():
    started = time.monotonic()
    PreviewEngine().generate(title_card("p" * MAX_PROMPT))  # the title card is laid out here
    assert time.monotonic() - started < 2.0  # generous (about 0.1 s): the old layout took 7 s


def test_a_canceled_render_stops_before_laying_anything_out():
    with pytest.raises(Canceled):
        PreviewEngine().generate(title_card("p" * MAX_PROMPT, canceled=True))


# list endpoints cap their page size ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (VIDEOS, {"limit": 101}, "limit"),
        ("/api/rest/v1/generations/user/someone", {"limit": 51}, "limit"),
        ("/v1beta/models", {"pageSize": 1001}, "pageSize"),
    ],
)
def test_a_list_page_larger_than_the_maximum_is_400(api, path, params, field):
    assert refused_field(api.get(path, params=params)) == field
