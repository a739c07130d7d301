"""The client registry: TPPs and first-party apps, managed by staff, the CLI and dynamic registration."""
