"""The Account and Transaction API (AISP): account access consents and the account data they open."""
