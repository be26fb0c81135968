"""Polls: questions to the city, votes, live results."""
