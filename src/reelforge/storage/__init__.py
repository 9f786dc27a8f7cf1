"""Where media bytes live: outputs and uploads, addressed by key (`outputs/<job>/0.mp4`)."""
