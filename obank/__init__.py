"""Cross-cutting infrastructure: settings, database, money, outbox, crypto, logging. Knows no banking."""
