"""The gunicorn worker: uvicorn's, on uvloop + httptools, without the ``server: uvicorn`` banner.

uvloop and httptools are in the lock (``uvicorn[standard]``'s fast paths without its other extras) and named
explicitly, so a missing one fails the boot instead of silently falling back to asyncio + h11 (/healthz
6.0k -> 9.6k req/s with them, issue 14). The spread of connections across workers comes from gunicorn's
``reuse_port`` (``gunicorn_conf.py``): each worker then binds its own ``SO_REUSEPORT`` listener.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """``uvicorn_worker.UvicornWorker`` on uvloop + httptools with ``server_header=False``."""

    CONFIG_KWARGS: dict[str, Any] = {
        **UvicornWorker.CONFIG_KWARGS,
        "loop": "uvloop",
        "http": "httptools",
        "server_header": False,
    }
