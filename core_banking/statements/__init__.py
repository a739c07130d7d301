"""core_banking.statements"""
