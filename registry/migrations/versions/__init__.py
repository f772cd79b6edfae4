"""The migration steps, numbered in the order they apply.

``alembic_version`` in a database says how far it is.
"""
