"""core_banking's facade over internal HTTP: the routes other contexts' processes call, and their client."""

PREFIX = "/internal/v1"
