"""Alembic migration environment, shipped inside the package (configured by :mod:`slipway_app.migrate`)."""
