"""core_banking.interest"""
