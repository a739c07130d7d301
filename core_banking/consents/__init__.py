"""Open Banking consent resources: account access and domestic payment consents awaiting the customer."""
