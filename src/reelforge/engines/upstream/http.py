"""HTTP calls to an upstream provider, with the same SSRF vetting as image URLs (media/fetch.py).

Every URL, the configured base and every URL a provider hands back (a video on a CDN, a redirect),
is vetted and the connection pinned to the vetted address; hosts that are not public need the
deployer's `upstream_allowlist`. Calls that get 429, 5xx, a timeout or a refused connection are
retried `retries` times, waiting what `Retry-After` asks (at most MAX_RETRY_WAIT) or else a doubling
backoff; then `UpstreamUnavailable`. Other 4xx answers are `UpstreamRejected` with the provider's
own message. The credential travels only in headers and is scrubbed from every message.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from reelforge.core.clock import now
from reelforge.core.errors import InvalidRequest
from reelforge.engines.base import UpstreamRejected, UpstreamUnavailable
from reelforge.media.fetch import Allowlist, pinned_request, tls_context, vet_url

log = logging.getLogger(__name__)
MAX_RETRY_WAIT = 60.0  # longest Retry-After honoured between two tries of one call, s
MAX_REDIRECTS = 3
MAX_VIDEO_BYTES = 2 * 1024**3
USER_AGENT = "reelforge-upstream/1"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamUnavailable(f"the upstream answered HTTP {self.status} without JSON") from None

    def poll_after(self) -> float | None:
        """The wait the provider asks for before the next poll (`openai-poll-after-ms`, `Retry-After`)."""
        millis = self.headers.get("openai-poll-after-ms", "")
        if millis.isdigit():
            return int(millis) / 1000
        return retry_after(self.headers)


def retry_after(headers: httpx.Headers) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), or None."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now()).total_seconds())
    except (TypeError, ValueError):
        return None


def message_of(reply: Reply) -> str:
    """The provider's own words about an error, whatever its error shape."""
    try:
        body = json.loads(reply.body)
    except ValueError:
        return f"HTTP {reply.status}"
    for found in (
        _path(body, "error", "message"),
        _path(body, "message"),
        _path(body, "detail"),
        _path(body, "error"),
        _path(body, "task", "reason"),
    ):
        if isinstance(found, str) and found:
            return found
    return f"HTTP {reply.status}"


def _path(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


class UpstreamHttp:
    """One provider's HTTP: its base URL, credential headers, vetting, retries and messages."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        auth: dict[str, str],
        secret: str,
        allowlist: Allowlist,
        timeout: float = 30.0,
        retries: int = 3,
        wait: Callable[[float], None] = time.sleep,
    ):
        self.provider, self.base_url, self.auth, self.allowlist = provider, base_url, auth, allowlist
        self._secret = secret
        self.retries = retries
        self.wait = wait  # sleeps between retries; the engine's own returns early on cancel
        self._timeout = httpx.Timeout(timeout, connect=min(5.0, timeout))

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def call(self, method: str, path: str, *, retry: bool = True, authed: bool = True, **kwargs) -> Reply:
        """One API call, retried on retryable failures; a 2xx Reply, or UpstreamRejected /
        UpstreamUnavailable. kwargs go to httpx (json=, data=, files=, params=, headers=)."""
        tries = 1 + (self.retries if retry else 0)
        for attempt in range(tries):
            failure, advice = None, None
            try:
                reply = self._send(method, self.url(path), authed, **kwargs)
            except UpstreamUnavailable as exc:
                failure = str(exc)
            else:
                if 200 <= reply.status < 300:
                    return reply
                if reply.status != 429 and reply.status < 500:
                    raise UpstreamRejected(self.scrub(f"{self.provider}: {message_of(reply)}"))
                failure = self.scrub(f"{self.provider} answered HTTP {reply.status}: {message_of(reply)}")
                advice = retry_after(reply.headers)
            if attempt + 1 < tries:
                pause = min(MAX_RETRY_WAIT, advice if advice is not None else 2.0**attempt)
                log.warning("%s; retry %d of %d in %.1f s", failure, attempt + 1, tries - 1, pause)
                self.wait(pause)
        raise UpstreamUnavailable(failure)

    def download(self, url: str, dest: Path, authed: bool) -> None:
        """Stream a result file into `dest`, following (vetted) redirects; retried like `call`."""
        for attempt in range(self.retries + 1):
            try:
                self._download(self.url(url), dest, authed)
                return
            except UpstreamUnavailable:
                if attempt == self.retries:
                    raise
                self.wait(min(MAX_RETRY_WAIT, 2.0**attempt))

    def scrub(self, text: str) -> str:
        """`text` without the credential, should a provider echo it back."""
        return text.replace(self._secret, "[credential]") if self._secret else text

    def _pinned(self, url: str, authed: bool, extra: dict | None) -> tuple[str, dict[str, str], dict]:
        """The vetted URL pinned to its address, the headers (the key only for the provider's own
        origin) and the TLS extensions of a request to `url`."""
        try:
            target = anyio.run(partial(vet_url, url, self.allowlist, what="upstream URL"))
        except InvalidRequest as exc:
            raise UpstreamUnavailable(f"{self.provider}: {exc.message}") from None
        pinned_url, host, extensions = pinned_request(target)
        headers = {"User-Agent": USER_AGENT, **(extra or {}), **host}
        if authed and _origin(url) == _origin(self.base_url):  # never a key to another host
            headers.update(self.auth)
        return pinned_url, headers, extensions

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self._timeout, trust_env=False, verify=tls_context())

    def _send(self, method: str, url: str, authed: bool, headers: dict | None = None, **kwargs) -> Reply:
        pinned_url, headers, extensions = self._pinned(url, authed, headers)
        try:
            with self._client() as client:
                request = client.build_request(
                    method, pinned_url, headers=headers, extensions=extensions, **kwargs
                )
                response = client.send(request)
                return Reply(response.status_code, response.headers, response.content)
        except httpx.TimeoutException:
            raise UpstreamUnavailable(f"{self.provider} did not answer in time") from None
        except (httpx.HTTPError, OSError) as exc:
            raise UpstreamUnavailable(f"{self.provider} could not be reached: {type(exc).__name__}") from None

    def _download(self, url: str, dest: Path, authed: bool) -> None:
        for _hop in range(MAX_REDIRECTS + 1):
            pinned_url, headers, extensions = self._pinned(url, authed, None)
            try:
                with (
                    self._client() as client,
                    client.stream("GET", pinned_url, headers=headers, extensions=extensions) as response,
                ):
                    if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        response.read()
                        reply = Reply(response.status_code, response.headers, response.content)
                        problem = f"{self.provider}: the video download answered HTTP {reply.status}"
                        if reply.status == 429 or reply.status >= 500:
                            raise UpstreamUnavailable(problem)
                        raise UpstreamRejected(self.scrub(f"{problem}: {message_of(reply)}"))
                    size = 0
                    with dest.open("wb") as out:
                        for chunk in response.iter_raw():
                            size += len(chunk)
                            if size > MAX_VIDEO_BYTES:
                                raise UpstreamRejected(f"{self.provider}: the video is too large")
                            out.write(chunk)
                    return
            except httpx.TimeoutException:
                raise UpstreamUnavailable(f"{self.provider}: the video download timed out") from None
            except httpx.HTTPError as exc:  # not OSError: a full disk here is the worker's, no upstream's
                problem = f"{self.provider}: the video download failed: {type(exc).__name__}"
                raise UpstreamUnavailable(problem) from None
        raise UpstreamRejected(f"{self.provider}: the video URL redirected more than {MAX_REDIRECTS} times")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
