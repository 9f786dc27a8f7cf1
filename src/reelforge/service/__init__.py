"""The application service: every use of reelforge (any dialect, the CLI, tests) goes through
`JobService`, which validates against the catalog, persists, stores inputs, enqueues, and scopes
every lookup to the calling owner."""
