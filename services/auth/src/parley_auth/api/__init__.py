"""HTTP routes of auth."""
