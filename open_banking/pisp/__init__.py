"""The Payment Initiation API (PISP): domestic payment consents and the single payments they allow."""
