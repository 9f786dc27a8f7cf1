"""The native API's video ids: OpenAI's are `video_<...>`, reelforge's job ids are plain UUIDs
that every other dialect shows. This module is the one place the two meet: answers show
`video_<job id>`, routes take either form, and a lookup that finds nothing is "video <id> not
found" with the id as the client sent it (the service says "generation ...")."""

from collections.abc import Iterator
from contextlib import contextmanager

from reelforge.core.errors import NotFound

PREFIX = "video_"


def video_id(job_id: str) -> str:
    """The id a job has in the OpenAI shape."""
    return PREFIX + job_id


def job_id(video_id: str) -> str:
    """The job behind a client's video id, given as `video_<job id>` or as the plain job id."""
    return video_id.removeprefix(PREFIX)


@contextmanager
def looking_up(video_id: str) -> Iterator[str]:
    """The job id of `video_id` for the block; a NotFound in it names the video as the client did."""
    try:
        yield job_id(video_id)
    except NotFound:
        raise NotFound(f"video {video_id} not found") from None
