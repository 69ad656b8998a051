"""The sample app's serving path vs raw psycopg 3 doing the same SQL, side by side in one run (wrk, 64 connections).

Rerun: .venv/bin/python bench/app_vs_raw.py            (needs `wrk`: apt-get install wrk; PostgreSQL on 127.0.0.1)

* app: ``python -m gunicorn -c python:slipway_app.gunicorn_conf`` exactly as ``app serve`` runs it, with
  ``WEB_CONCURRENCY=2``, ``APP_ENV=prod``, ``LOG_LEVEL=INFO`` (one JSON access line per request, sent to /dev/null).
* raw: ``bench/app_raw_server.py``: the same statements through a psycopg_pool ``AsyncConnectionPool`` of the same
  size per process, 2 processes, behind a hand-rolled HTTP/1.1 loop (no framework, no validation, no logging).

Both run against one freshly created and migrated database (dropped at the end) seeded with ``--rows`` notes. Each
round runs every scenario on both sides back to back (warm-up first, so pools are warm), alternating which side goes
first, so machine noise hits both. Only 127.0.0.1 is ever targeted; every run is bounded by ``--seconds``.
Prints requests/s, p50/p99 latency and non-2xx/socket errors per side, and app/raw per scenario (median of rounds).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

GET_LUA = """
local rows = {rows}
request = function()
  return wrk.format("GET", "/api/notes/" .. math.random(1, rows))
end
"""
POST_LUA = """
wrk.method = "POST"
wrk.path = "/api/notes"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "bench note", "body": "written by bench/app_vs_raw.py"}'
"""
SCENARIOS = {"GET /api/notes/{id}": GET_LUA, "POST /api/notes": POST_LUA}


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    requests: int = 0
    cpu_us_per_request: float = float("nan")

    def line(self) -> str:
        return (
            f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
            f"non-2xx {self.non_2xx}  socket errors {self.socket_errors}  "
            f"server CPU {self.cpu_us_per_request:5.0f} us/req"
        )


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(out: str) -> WrkResult:
    """Requests/s, p50/p99 and error counts from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {
        m.group(1): _ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)", out, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return WrkResult(
        requests=int(total.group(1)) if total else 0,
        rps=rps,
        p50_ms=pct.get("50", float("nan")),
        p99_ms=pct.get("99", float("nan")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def cpu_seconds(pgid: int) -> float:
    """user + system CPU of every process in the process group ``pgid`` (a server and its workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(
    port: int, script: Path, seconds: float, connections: int, threads: int = 2, pgid: int | None = None
) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    cpu_before = cpu_seconds(pgid) if pgid else 0.0
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout  # noqa: S603
    result = parse_wrk(out)
    if pgid and result.requests:
        # Server CPU per request: unlike req/s, barely moved by what else the machine runs meanwhile.
        result.cpu_us_per_request = (cpu_seconds(pgid) - cpu_before) / result.requests * 1e6
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError(f"127.0.0.1:{port}{path} did not answer 200 within {timeout} s")


@contextlib.contextmanager
def database(rows: int) -> Iterator[str]:
    """A fresh database migrated by the app's own migrations and seeded with ``rows`` notes; dropped afterwards."""
    import psycopg
    from slipway_app.migrate import upgrade_to_head
    from sqlalchemy.engine import make_url

    name = f"slipway_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name)
    dsn = url.render_as_string(hide_password=False)
    try:
        upgrade_to_head(url.set(drivername="postgresql+psycopg"))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO notes (title, body) SELECT 'note ' || g, repeat('x', 200) FROM generate_series(1, %s) g",
                (rows,),
            )
            conn.execute("VACUUM ANALYZE notes")
        yield dsn
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], port: int, ready_path: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT
    )
    try:
        wait_http(port, ready_path)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def app_env(dsn: str, port: int, workers: int, log_level: str, src: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(src),
        "APP_ENV": "prod",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 20,
        "DATABASE_URL": dsn,
        "WEB_CONCURRENCY": str(workers),
        "PORT": str(port),
        "LOG_LEVEL": log_level,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=12, help="measured seconds per run (default 12)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds before each measured run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of app+raw per scenario (default 2)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY / raw server processes")
    parser.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL (INFO: access line per request)")
    parser.add_argument(
        "--app-src",
        type=Path,
        default=ROOT / "app",
        help="directory holding the slipway_app package to serve (default: app/; e.g. an older version from git)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    from slipway_app.db import POOL_SIZE

    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp, database(args.rows) as dsn:
        scripts = {}
        for name, lua in SCENARIOS.items():
            scripts[name] = Path(tmp) / f"{len(scripts)}.lua"
            scripts[name].write_text(lua.replace("{rows}", str(args.rows)))
        app_port, raw_port = free_port(), free_port()
        app_argv = [python, "-m", "gunicorn", "-c", "python:slipway_app.gunicorn_conf"]
        raw_argv = [
            python,
            str(ROOT / "bench" / "app_raw_server.py"),
            "--port",
            str(raw_port),
            "--dsn",
            dsn,
            "--workers",
            str(args.workers),
            "--pool-size",
            str(POOL_SIZE),
        ]
        raw_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        print(
            f"{args.connections} connections, {args.seconds:g} s per run after {args.warmup:g} s warm-up, "
            f"{args.rounds} round(s), {args.workers} processes per side, pool {POOL_SIZE} per process, "
            f"{os.cpu_count()} CPUs shared with PostgreSQL and wrk"
        )
        results: dict[str, dict[str, list[WrkResult]]] = {name: {"app": [], "raw": []} for name in SCENARIOS}
        with (
            # /healthz: an older --app-src may not know the current schema head (its /readyz would say 503).
            process(
                app_argv, app_env(dsn, app_port, args.workers, args.log_level, args.app_src), app_port, "/healthz"
            ) as app_proc,
            process(raw_argv, raw_env, raw_port, "/healthz") as raw_proc,
        ):
            for round_no in range(args.rounds):
                for name, script in scripts.items():
                    order = [("app", app_port, app_proc.pid), ("raw", raw_port, raw_proc.pid)]
                    if round_no % 2:
                        order.reverse()
                    for side, port, pgid in order:
                        if args.warmup:
                            run_wrk(port, script, args.warmup, args.connections)
                        result = run_wrk(port, script, args.seconds, args.connections, pgid=pgid)
                        results[name][side].append(result)
                        print(f"round {round_no + 1}  {name:<22} {side}: {result.line()}", flush=True)
        print()
        print(
            f"{'scenario':<22} {'app req/s':>10} {'raw req/s':>10} {'app/raw':>8} {'app p99':>9} {'raw p99':>9} "
            f"{'app non-2xx':>12} {'CPU us/req app/raw':>19}"
        )
        for name, sides in results.items():
            app_rps = statistics.median(r.rps for r in sides["app"])
            raw_rps = statistics.median(r.rps for r in sides["raw"])
            ratios = [a.rps / r.rps for a, r in zip(sides["app"], sides["raw"], strict=True)]
            p99 = max(r.p99_ms for r in sides["app"])
            raw_p99 = max(r.p99_ms for r in sides["raw"])
            bad = sum(r.non_2xx + r.socket_errors for r in sides["app"])
            app_cpu = statistics.median(r.cpu_us_per_request for r in sides["app"])
            raw_cpu = statistics.median(r.cpu_us_per_request for r in sides["raw"])
            print(
                f"{name:<22} {app_rps:10.0f} {raw_rps:10.0f} {statistics.median(ratios):8.0%} {p99:7.1f}ms "
                f"{raw_p99:7.1f}ms {bad:12d} {app_cpu:9.0f} / {raw_cpu:<7.0f}"
                f"   (ratios per round: {', '.join(f'{r:.0%}' for r in ratios)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
