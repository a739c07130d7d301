"""core_banking.customers"""
