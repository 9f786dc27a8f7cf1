"""The HTTP server: one FastAPI app hosting every dialect, media serving and uploads."""
