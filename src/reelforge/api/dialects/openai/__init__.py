"""The OpenAI videos shape, reelforge's native API: `/v1/videos` and `/v1/models` (videos.py),
with its request body (body.py) and its answers and errors (wire.py)."""
