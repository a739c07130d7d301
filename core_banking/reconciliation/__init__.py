"""core_banking.reconciliation"""
