"""The composition root: wires every context into the bank's processes (`obank` CLI, roles, jobs, demo data)."""
