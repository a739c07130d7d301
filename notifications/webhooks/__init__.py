"""Webhooks for integrators: endpoints, the messages fanned out to them from outbox events, signed deliveries."""
