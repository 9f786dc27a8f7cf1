"""Dispatch of queued jobs to workers."""
