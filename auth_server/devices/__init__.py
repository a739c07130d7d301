"""The devices a customer signs in from, remembered as keyed hashes, so a sign-in from a new one is told."""
