"""Open Banking consent resources: account access, funds confirmation and domestic payment consents."""
