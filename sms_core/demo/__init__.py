"""Sample rosters, seeded history and the demo data ``make run`` puts in an empty database.

The product's runtime imports nothing from here except to seed ``make run``.
"""
