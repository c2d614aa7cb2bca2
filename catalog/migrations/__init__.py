"""Alembic migrations of the catalog schema (shipped inside the package, so they run from a wheel)."""
