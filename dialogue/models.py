"""Models of dialogue (added by their own issues)."""
