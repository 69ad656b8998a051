"""Alembic revisions (``NNNN_description.py``); Alembic itself skips this file."""
