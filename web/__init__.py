"""The bank's web app (`/app`) and staff console (`/console`): a backend-for-frontend.

The browser never holds a token. This package is the OAuth client (PAR and PKCE), keeps each browser's tokens
sealed in its own table, and calls the public API through the gateway with them, so every rule of the gateway
applies to what a person does in a page.
"""
