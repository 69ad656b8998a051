"""The ASGI entry point gunicorn loads (``slipway_app.asgi:app``): settings validated, JSON logging configured."""

from __future__ import annotations

from .logs import configure_logging
from .main import create_app
from .settings import load_settings

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)
