"""The OAuth 2.0 / FAPI 2.0 authorization server: keys, discovery, clients, client authentication, PAR, tokens."""
