"""The simulated UK Faster Payments scheme: a second party the bank reaches only by ISO 20022 messages."""
