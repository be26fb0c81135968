"""Communities and the urban initiatives they propose."""
