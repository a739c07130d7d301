"""core_banking.idempotency"""
