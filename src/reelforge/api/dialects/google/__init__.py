"""Google's Veo APIs: the Gemini API (gemini.py) and Vertex AI (vertex.py), with the request body,
errors and operations they share (wire.py)."""
