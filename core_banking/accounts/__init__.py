"""core_banking.accounts"""
