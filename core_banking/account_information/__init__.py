"""Account information for a TPP: a customer's accounts, balances, transactions, party and statements, read
through an authorised account access consent and only as far as it reaches (UK Open Banking AIS)."""
