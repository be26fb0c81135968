"""People and places: the user model, Almaty's districts, roles."""
