"""The gunicorn worker: uvicorn's, without the ``server: uvicorn`` header (no version banner for scanners)."""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """``uvicorn_worker.UvicornWorker`` with ``server_header=False``; everything else is the stock worker."""

    CONFIG_KWARGS: dict[str, Any] = {**UvicornWorker.CONFIG_KWARGS, "server_header": False}
