"""Engines turn a canonical request into frames and audio; they never see HTTP or storage."""
