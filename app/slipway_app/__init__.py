"""slipway's sample web app: a small notes API (FastAPI + SQLAlchemy 2 + Alembic) served by gunicorn/uvicorn."""

__version__ = "0.1.0"
