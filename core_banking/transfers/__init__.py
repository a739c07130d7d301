"""core_banking.transfers"""
