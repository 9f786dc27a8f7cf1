"""Media helpers shared by every engine: image intake and MP4 encoding."""
