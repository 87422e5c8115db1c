"""The training service: a Trainer served in a child process over a typed protocol (no Qt)."""
