"""Confirmation of funds (UK Open Banking CBPII): a TPP asks whether an account could pay an amount; no money moves."""
