"""core_banking.customer_search: staff find customers by name, email or account identifiers."""
