"""Helpers shared by tests/ and bench/: real server processes and the API keys issued on their
databases (`support`), scaled-out clusters (`cluster`), throw-away databases (`databases`), tiny
random-weight diffusers pipelines (`tiny_pipelines`), image makers (`images`,
`support.make_image`), a local image host (`imageserver`), MP4 probing (`support.probe_mp4`), and
the dialect-side readers the API tests share (`leonardo`, `google`, `native`, `bodies`), and the job
builders and wire checks of the server-free mapping tests (`jobs`, `wire`).

Nothing here is a test: test modules import from this package, never from one another, and bench/
imports only this package (and reelforge), never tests/.
"""
