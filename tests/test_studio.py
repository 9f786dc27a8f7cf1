"""The studio at `/` (issue 13) in a real headless Chromium against a live `reelforge serve`: sign
in with a key, create videos (text, start frame, start + end frame), watch them progress, play,
cancel, delete, "Same settings again" and "Use as start frame" (the requests they send, read from
the browser), the server's refusal shown by the form, axe-core scans of each view in light and
dark, and screenshots at desktop and phone width. Every page may talk to the server's origin only
and must log no console error (testkit/browser.py).

`REELFORGE_UPDATE_SCREENSHOT=1` also writes the desktop screenshot of the jobs view to
docs/studio.png (the README shows it).
"""

import email.parser
import email.policy
import io
import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Page, Request, expect

from testkit.browser import chromium, origin_page
from testkit.cluster import wait_until
from testkit.support import client

TIMEOUT_MS = 90_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "studio.png"
START_COLOUR, END_COLOUR = (240, 190, 30), (30, 90, 220)
# every aria-valuenow a job's progress bar shows, per job id, recorded as the page changes it
RECORD_PROGRESS = """
window.progressSeen = {};
new MutationObserver((records) => {
  for (const record of records) {
    const card = record.target.closest("li.job");
    const value = Number(record.target.getAttribute("aria-valuenow"));
    if (card) (window.progressSeen[card.dataset.id] ||= []).push(value);
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] });
"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def confined(browser, server):
    """A page on the server's origin; after the test, nothing left the origin and no script erred."""
    with origin_page(browser, server.url) as page:
        page.page.set_viewport_size(DESKTOP)
        page.page.set_default_timeout(TIMEOUT_MS)
        yield page
        assert page.left_origin == [], page.left_origin
        assert page.refused == [], page.refused
        assert page.errors == [], page.errors


@pytest.fixture(scope="module")
def api_key(server, key) -> str:
    return server.key(key)


def sign_in(page: Page, url: str, api_key: str) -> None:
    page.goto(url)
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Create")).to_be_visible()


def generate(page: Page, prompt: str, **choices: str) -> str:
    """Fill the form (`choices` by label), press "Generate"; the new video's id."""
    page.get_by_label("Prompt", exact=True).fill(prompt)
    for label, value in choices.items():
        page.get_by_label(label, exact=True).select_option(value)
    with page.expect_response(
        lambda r: r.url.endswith("/v1/videos") and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name="Generate").click()
    assert answer.value.ok, answer.value.text()
    video_id = answer.value.json()["id"]
    expect(card(page, video_id)).to_be_visible()
    return video_id


def is_create(request_or_response) -> bool:
    request = getattr(request_or_response, "request", request_or_response)
    return request.method == "POST" and request.url.endswith("/v1/videos")


def refusals_logged(confined, status: int) -> int:
    """Take Chromium's console lines for answers of `status` out of the page's errors (it logs every
    refused fetch); how many there were."""
    line = f"Failed to load resource: the server responded with a status of {status} "
    kept = [e for e in confined.errors if not e.startswith(line)]
    taken = len(confined.errors) - len(kept)
    confined.errors[:] = kept
    return taken


def card(page: Page, video_id: str):
    return page.locator(f'li.job[data-id="{video_id}"]')


def wait_status(page: Page, video_id: str, status: str) -> None:
    expect(card(page, video_id)).to_have_attribute("data-status", status, timeout=TIMEOUT_MS)


def png(colour: tuple[int, int, int], size=(1280, 720)) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return {"name": f"frame-{colour[0]}.png", "mimeType": "image/png", "buffer": buf.getvalue()}


def poster_centre(page: Page, video_id: str) -> tuple[int, ...]:
    poster = card(page, video_id).locator(".poster img")
    expect(poster).to_be_visible()
    poster.evaluate("img => img.decode()")
    return tuple(
        poster.evaluate(
            """img => {
              const canvas = document.createElement("canvas");
              canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
              const g = canvas.getContext("2d");
              g.drawImage(img, 0, 0);
              return Array.from(g.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data.slice(0, 3));
            }"""
        )
    )


def near(colour, expected, tolerance=24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def distance(colour, other) -> float:
    return sum((a - b) ** 2 for a, b in zip(colour, other, strict=True)) ** 0.5


def multipart_fields(request: Request) -> dict[str, tuple[str | None, str, bytes]]:
    """A multipart body's parts: name -> (filename, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.post_data_buffer)
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def creates(page: Page) -> list[Request]:
    """The POST /v1/videos requests the page sends from now on."""
    sent: list[Request] = []
    page.on(
        "request", lambda r: sent.append(r) if r.method == "POST" and r.url.endswith("/v1/videos") else None
    )
    return sent


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


# ---------------------------------------------------------------------------------------------------


def test_sign_in_refuses_a_bad_key_shows_the_account_and_signs_out(confined, server, api_key, key):
    page = confined.page
    page.goto(server.url)
    expect(page.get_by_role("link", name="API reference")).to_have_attribute("href", "/docs")
    page.get_by_label("API key").fill("rf_" + "x" * 43)
    page.get_by_label("API key").press("Enter")  # keyboard: the form submits
    expect(page.locator("#sign-in-error")).to_contain_text(re.compile(r"\w+"))
    with client(server, key="studio-probe") as probe:
        refused = probe.get("/v1/account", headers={"Authorization": "Bearer rf_" + "x" * 43})
    assert refused.status_code == 401
    expect(page.locator("#sign-in-error")).to_have_text(refused.json()["error"]["message"])

    sign_in(page, server.url, api_key)
    expect(page.locator("#account-name")).to_have_text(key)
    expect(page.locator("#account-limits")).to_contain_text("Balance unlimited")
    page.reload()  # the key stays in the browser's storage
    expect(page.get_by_role("heading", name="Create")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert refusals_logged(confined, 401) == 2  # the account and the models, asked for with the bad key


def test_text_to_video_progresses_then_plays_4_seconds(confined, server, api_key, tmp_path):
    page = confined.page
    page.add_init_script(RECORD_PROGRESS)
    sign_in(page, server.url, api_key)
    # the form starts at the native API's defaults for the model: 4 s, 720x1280
    expect(page.get_by_label("Duration")).to_have_value("4")
    expect(page.get_by_label("Resolution")).to_have_value("720p")
    expect(page.get_by_label("Aspect ratio")).to_have_value("9:16")
    video_id = generate(page, "a paper boat on a pond at dawn", Resolution="1080p")
    wait_status(page, video_id, "completed")
    seen = page.evaluate(f"window.progressSeen[{video_id!r}]")
    assert seen == sorted(seen), seen
    assert len({v for v in seen if 0 < v < 100}) >= 2, seen  # visibly advancing, not 0 then 100
    assert seen[-1] == 100, seen

    job = card(page, video_id)
    expect(job.locator(".settings")).to_contain_text("4 s · 1080p · 9:16")
    job.get_by_role("button", name="Play").click()
    player = job.locator("video")
    expect(player).to_have_attribute("controls", "")
    player.evaluate("v => { v.muted = true; v.pause(); v.currentTime = 0; }")
    page.wait_for_function("v => v.readyState >= 2", arg=player.element_handle())
    assert player.evaluate("v => v.duration") == pytest.approx(4, abs=0.1)
    player.evaluate("v => v.play()")
    page.wait_for_function("v => v.currentTime > 0.5", arg=player.element_handle())

    with page.expect_download() as download:
        job.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == f"{video_id}.mp4"
    assert Path(download.value.path()).read_bytes()[4:8] == b"ftyp"

    page.mouse.move(0, 0)
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = page.screenshot()
    (tmp_path / "studio-1280x800.png").write_bytes(shot)
    if os.environ.get("REELFORGE_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.write_bytes(shot)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    page.screenshot(path=tmp_path / "studio-390x844.png", full_page=True)


def test_start_frame_and_first_last_frame_show_in_the_poster(confined, server, api_key):
    page = confined.page
    sign_in(page, server.url, api_key)
    page.get_by_label("Start frame").set_input_files(png(START_COLOUR))
    preview = page.locator("#start-slot .crop img")
    expect(preview).to_be_visible()
    page.get_by_label("Aspect ratio").select_option("9:16")  # the preview box takes the aspect
    box = page.locator("#start-slot .crop").bounding_box()
    assert box["height"] > box["width"]
    page.get_by_label("Aspect ratio").select_option("16:9")
    sent = creates(page)
    started = generate(page, "the camera drifts over a yellow wall", Duration="4")
    assert multipart_fields(sent[-1])["input_reference"][2] == png(START_COLOUR)["buffer"]

    page.get_by_label("End frame").set_input_files(png(END_COLOUR))
    both = generate(page, "from yellow to blue", Duration="4")
    fields = multipart_fields(sent[-1])
    assert fields["input_reference"][2] == png(START_COLOUR)["buffer"]
    assert fields["last_frame"][2] == png(END_COLOUR)["buffer"]

    wait_status(page, started, "completed")
    assert near(poster_centre(page, started), START_COLOUR), poster_centre(page, started)
    wait_status(page, both, "completed")  # the poster (a third into the cross-fade) leans to the start
    centre = poster_centre(page, both)
    assert distance(centre, START_COLOUR) < distance(centre, END_COLOUR) / 2, centre
    expect(card(page, both).locator(".settings")).to_contain_text("start + end frame")


def test_cancel_a_running_job_and_delete_a_finished_one(confined, server, api_key, key):
    page = confined.page
    sign_in(page, server.url, api_key)
    short = generate(page, "a short clip to delete", Duration="4")
    long = generate(page, "a long clip to cancel", Model="VEO3_1", Duration="8", Resolution="1080p")
    wait_status(page, long, "in_progress")
    card(page, long).get_by_role("button", name="Cancel").click()
    wait_status(page, long, "failed")
    expect(card(page, long).locator(".word")).to_have_text("canceled")
    expect(card(page, long).get_by_role("button", name="Cancel")).to_be_hidden()

    wait_status(page, short, "completed")
    card(page, short).get_by_role("button", name="Delete").click()
    expect(card(page, short)).to_have_count(0)
    with client(server, key=key) as http:
        assert http.get(f"/v1/videos/{short}").status_code == 404
        assert http.get(f"/v1/videos/{long}").json()["error"]["code"] == "canceled"


def test_a_refused_request_shows_the_servers_message_by_its_field(confined, server, api_key, key):
    page = confined.page
    sign_in(page, server.url, api_key)
    with client(server, key=key) as http:
        refused = http.post("/v1/videos", files={"prompt": (None, "   "), "model": (None, "veo-3.1-lite")})
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["param"] == "prompt", error
    page.get_by_label("Prompt", exact=True).fill("   ")
    page.get_by_role("button", name="Generate").click()
    note = page.locator('.field[data-param="prompt"] .field-error')
    expect(note).to_have_text(error["message"])
    expect(page.get_by_label("Prompt", exact=True)).to_have_attribute("aria-invalid", "true")
    assert refusals_logged(confined, 400) == 1


def test_same_settings_again_and_use_as_start_frame_send_the_expected_requests(
    confined, server, api_key, key
):
    page = confined.page
    sign_in(page, server.url, api_key)
    page.get_by_label("Negative prompt").fill("fog")
    page.get_by_label("Seed").fill("4242")
    page.get_by_label("Audio").uncheck()
    original = generate(
        page, "a lighthouse at night", Model="VEO3_1FAST", Duration="4", **{"Aspect ratio": "9:16"}
    )
    wait_status(page, original, "completed")
    page.reload()  # a fresh form; the key is kept
    sent = creates(page)

    card(page, original).get_by_role("button", name="Same settings again").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a lighthouse at night")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("n => document.querySelectorAll('li.job').length >= n", arg=2)
    again = {name: value.decode() for name, (_, _, value) in multipart_fields(sent[0]).items()}
    assert again == {
        "prompt": "a lighthouse at night",
        "negative_prompt": "fog",
        "model": "VEO3_1FAST",
        "seconds": "4",
        "resolution": "720p",
        "aspect_ratio": "9:16",
        "generate_audio": "false",
        "seed": "4242",
    }

    card(page, original).get_by_role("button", name="Use as start frame").click()
    expect(page.locator("#start-slot .crop img")).to_be_visible()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("n => document.querySelectorAll('li.job').length >= n", arg=3)
    fields = multipart_fields(sent[1])
    with client(server, key=key) as http:
        poster = http.get(f"/v1/videos/{original}/content", params={"variant": "thumbnail"}).content
    filename, kind, data = fields["input_reference"]
    assert (kind, data) == ("image/jpeg", poster)
    assert filename.endswith(".jpg")
    assert "last_frame" not in fields


def test_jobs_are_listed_newest_first_a_page_at_a_time(confined, server):
    page = confined.page
    with client(server, key="studio-paging") as api:
        made = [
            api.post("/v1/videos", json={"prompt": f"page {n}", "seconds": "4"}).json()["id"]
            for n in range(14)
        ]
        try:
            sign_in(page, server.url, server.key("studio-paging"))
            cards = page.locator("li.job")
            expect(cards).to_have_count(12)  # one page
            assert cards.first.get_attribute("data-id") == made[-1]
            page.get_by_role("button", name="Load more").click()
            expect(cards).to_have_count(14)
            expect(page.get_by_role("button", name="Load more")).to_be_hidden()
            assert [cards.nth(n).get_attribute("data-id") for n in range(14)] == made[::-1]
        finally:
            for video_id in made:
                api.post(f"/v1/videos/{video_id}/cancel")


def test_views_have_no_serious_accessibility_violation_light_and_dark(confined, server, api_key, key):
    page = confined.page
    with client(server, key=key) as http:  # a finished video on the jobs view
        video = http.post("/v1/videos", json={"prompt": "a finished video", "seconds": "4"}).json()
        wait_until(
            lambda: http.get(f"/v1/videos/{video['id']}").json()["status"] == "completed", 120, "the video"
        )
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(server.url)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.locator("#sign-in-error").evaluate("e => e.textContent = 'The API key is not valid.'")
        assert serious(page) == [], (scheme, "sign-in")
        sign_in(page, server.url, api_key)
        expect(page.locator("li.job .poster img").first).to_be_visible()
        assert serious(page) == [], (scheme, "create and jobs")
        page.keyboard.press("Tab")  # focus is visible
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", page.evaluate("document.activeElement.outerHTML")
        page.get_by_role("button", name="Sign out").click()


@pytest.mark.parametrize(
    ("storage", "endpoint", "media"),
    [
        (None, None, "'self'"),
        ("s3://bucket/prefix", "http://127.0.0.1:9000/", "'self' http://127.0.0.1:9000"),
        ("s3://bucket/prefix", None, "'self' https://*.amazonaws.com"),
    ],
)
def test_the_page_may_load_media_from_the_bucket_only_with_bucket_storage(tmp_path, storage, endpoint, media):
    from reelforge.api.studio import headers
    from reelforge.config import Settings

    settings = Settings(data_dir=tmp_path, storage_url=storage, s3_endpoint_url=endpoint)
    directives = headers(settings)["Content-Security-Policy"].split(";")
    policy = dict(part.strip().split(" ", 1) for part in directives)
    assert policy["connect-src"] == media
    assert policy["media-src"] == f"{media} blob:"
    assert policy["img-src"] == f"{media} blob: data:"
    assert policy["script-src"] == "'self'"
