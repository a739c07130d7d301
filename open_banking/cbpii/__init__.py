"""The Confirmation of Funds API (CBPII): funds confirmation consents and the checks they allow."""
