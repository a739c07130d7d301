"""core_banking.ledger"""
