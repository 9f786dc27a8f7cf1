"""Leonardo.AI's REST API: v1 (video generations, reading, init images, user), v2 (generations)
and SVD motion, with the wire helpers they share (wire.py)."""
