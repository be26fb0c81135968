"""People's Budget: participatory budgeting rounds, their projects, ballots and outcomes."""
