"""What the Account and Transaction API does, over core banking's facade: consents, then account information."""
