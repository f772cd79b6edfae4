"""Alembic migrations of the registry's schema, one module a step, applied at every start."""
