"""core_banking"""
