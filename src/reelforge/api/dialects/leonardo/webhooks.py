"""Leonardo's webhook callback: the `webhookCallbackUrl` of an API key, to which the delivery
engine (service/webhooks.py) POSTs the key's generations when they end, with its
`webhookCallbackApiKey` as `Authorization: Bearer ...`. Keys get their callback through the admin
API and `reelforge keys` (api/admin.py `webhook_url`, `webhook_api_key`); a job records the key
that made it (`JobExtras.key_id`, set by v1, v2 and svd), so only that key's callback hears of it.

The envelope is Leonardo's documented one: `{"type", "object": "generation", "timestamp" (Unix
ms), "api_version": "v1", "data": {"object": <the generation>}}`.

Decisions where Leonardo documents nothing [open]:
- The event is `image_generation.complete` for every video (Leonardo's only documented event; the
  motion outputs ride its `images[].motionMP4URL` in observed callbacks), sent when a generation
  ends however it ends: `status` `COMPLETE`, or `FAILED` for a failed or canceled one.
- `data.object` is the generation as `GET /generations/{id}` answers it (wire.py), plus `images`
  (the same items as `generated_images`: the callback's name for them), `updatedAt` (when it
  ended) and `apiKeyId`. Leonardo's `apiKey` and `model` snapshots are left out: reelforge never
  echoes a key or the callback's own API key.
- Media URLs are signed like a poll's and expire after `REELFORGE_MEDIA_URL_TTL`; a late (retried)
  delivery's receiver reads the generation again for fresh ones.
- Deliveries also carry the Standard Webhooks headers every reelforge delivery has; `webhook-id` is
  the same on retries (a receiver can drop duplicates by it). Its signature uses a secret that is
  never shown: Leonardo's authentication is the bearer key.
"""

from reelforge.api.dialects.leonardo import wire
from reelforge.core.job import Job
from reelforge.core.webhooks import Event
from reelforge.service.media import Media
from reelforge.service.webhooks import Form

FORM = "leonardo"
EVENT = "image_generation.complete"


def leonardo_form(media: Media) -> Form:
    """The callback body of a job, its media URLs signed by `media`."""

    def build(job: Job, event: Event) -> tuple[str, dict]:
        generation = wire.generation(media, job).model_dump()
        generation |= {
            "images": generation["generated_images"],
            "updatedAt": wire.timestamp(event.created_at),
            "apiKeyId": job.extras.key_id,
        }
        return EVENT, {
            "type": EVENT,
            "object": "generation",
            "timestamp": int(event.created_at.timestamp() * 1000),
            "api_version": "v1",
            "data": {"object": generation},
        }

    return Form(FORM, (EVENT,), build)
