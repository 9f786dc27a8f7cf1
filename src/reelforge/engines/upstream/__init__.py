"""Upstream engines: a catalog entry rendered by calling a provider's API (Gemini, Vertex,
Leonardo, AI/ML API, HighwayAPI, or another reelforge through the OpenAI videos shape), one
adapter per wire form, each the mirror of the dialect of that name (docs/upstreams.md)."""
