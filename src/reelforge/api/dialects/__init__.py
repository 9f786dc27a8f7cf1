"""One module per public API reelforge speaks. Dialects translate to and from the canonical request
and job; they never touch the store, queue or engines directly."""
