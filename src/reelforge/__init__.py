"""reelforge: a self-hosted video generation server that speaks the Veo 3.1 Lite provider APIs."""

__version__ = "0.1.0"
