"""core_banking.history"""
