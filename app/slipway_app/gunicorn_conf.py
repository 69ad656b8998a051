"""gunicorn configuration (``gunicorn -c python:slipway_app.gunicorn_conf``), derived from the validated settings.

Timing budget for a rolling deploy / scale-in on ECS Fargate behind an ALB:

* ECS sends SIGTERM, then SIGKILL after ``stopTimeout`` = 30 s (components/containers.py). gunicorn's
  ``graceful_timeout`` (20 s) must stay below it so in-flight requests finish and the engine is disposed cleanly.
* The ALB keeps idle client connections for 60 s; ``keepalive`` (65 s) is longer, so the ALB -- never gunicorn --
  closes an idle connection first (otherwise a request racing the close gets a 502).
"""

from __future__ import annotations

import gc
from typing import Any

from slipway_app.logs import logging_dict
from slipway_app.settings import load_settings

_settings = load_settings()

wsgi_app = "slipway_app.asgi:app"
# uvicorn workers (ASGI) without the `server: uvicorn` banner.
worker_class = "slipway_app.worker.Worker"
# All interfaces: in the container the ALB reaches the task's ENI address.
bind = [f"0.0.0.0:{_settings.port}"]
workers = _settings.web_concurrency
# Below ECS stopTimeout (30 s): after SIGTERM, workers get 20 s to finish in-flight requests, then are killed.
graceful_timeout = 20
# A worker silent for 30 s (blocked event loop) is killed and replaced.
timeout = 30
# Longer than the ALB idle timeout (60 s) so the ALB closes idle keep-alive connections first (avoids 502s).
keepalive = 65
# Heartbeat files live in /tmp: the root filesystem is read-only in the container (/tmp is its only writable volume).
worker_tmp_dir = "/tmp"  # noqa: S108  # nosec B108
# Trust X-Forwarded-For/-Proto only from the proxies in FORWARDED_ALLOW_IPS (ECS: the VPC CIDR, where the ALB
# lives). uvicorn then takes the client address as the rightmost X-Forwarded-For entry that is NOT a trusted proxy,
# i.e. the address the ALB appended; with "*" it would take the leftmost one, which any caller can forge.
forwarded_allow_ips = _settings.forwarded_allow_ips
# Only used by gunicorn's PROXY-protocol support (off; uvicorn workers ignore it): the same proxies, never "*".
proxy_allow_ips = _settings.forwarded_allow_ips
# One JSON access line per request comes from the app's middleware; gunicorn's access log stays off.
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
logconfig_dict = logging_dict(_settings.log_level)
# No worker recycling: a recycled worker closes its keep-alive connections under load, and a request racing that
# close fails (15-60 per restart measured; 502s behind the ALB). Memory is bounded by the app itself, and ECS
# replaces tasks on every deploy.
max_requests = 0
max_requests_jitter = 0
# Each worker binds its own SO_REUSEPORT listener (gunicorn >= 27 creates them per worker; the master holds none):
# the kernel spreads new connections across workers by hash. With one shared listener the first worker to wake
# takes a whole burst (64 connects measured 61:3 between two workers, one pool starving); with this 33:31 .. 40:24.
reuse_port = True
proc_name = "slipway-app"
# No runtime control socket (gunicorn >= 24): nothing manages workers at runtime; ECS replaces tasks instead.
control_socket_disable = True


def when_ready(server: Any) -> None:
    """Say where the app listens: with ``reuse_port`` the master holds no listener, so gunicorn's own "Listening at:"
    line names no address."""
    server.log.info("listening on %s (each worker binds its own SO_REUSEPORT listener)", ", ".join(bind))


def post_worker_init(worker: object) -> None:
    """In each worker, once the app is imported (``asgi.py``: settings, logging, the app) and before it serves.

    ``gc.freeze()`` moves every object alive now (the imported modules, the app, its routes and models: hundreds
    of thousands) out of the collector's reach. Without it each full collection walks them all: ~100 ms with the
    event loop stopped, 9-11 times per worker per minute under load, which was the p99 (issue 14; measured with
    ``gc.callbacks``: 104-116 ms each before, ~2 ms after). Nothing frozen is leaked: reference counting still
    frees it; only cycles among those start-up objects would stay, and they live as long as the worker anyway.
    """
    gc.collect()
    gc.freeze()
