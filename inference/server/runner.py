"""Running the HTTP server: ``python -m inference serve [--host 127.0.0.1] [--port 8765]
[--ray [--address auto|ray://...]]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
from typing import NoReturn

from aiohttp import web

from ..errors import InferenceError
from ..jobs import Backend
from ..settings import InferenceSettings
from .app import create_app

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class ExposedWithoutKey(ValueError):
    """Listening beyond loopback without INFERENCE_API_KEY."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost``, 127.x, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name, or "" / 0.0.0.0-style wildcards: reachable from elsewhere


def check_exposure(host: str, settings: InferenceSettings) -> None:
    """Refuse to serve beyond loopback without a key: anyone could run the models."""
    if not is_loopback(host) and settings.api_key() is None:
        raise ExposedWithoutKey(
            f"refusing to listen on {host!r} without INFERENCE_API_KEY: anyone who can reach "
            "it could run the models. Set INFERENCE_API_KEY, or listen on 127.0.0.1."
        )


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (port 0: a free one); returns the runner (call
    ``cleanup()`` to stop) and the port. A client that hangs up cancels its handler."""
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


async def serve(
    backend: Backend,
    settings: InferenceSettings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``backend`` until ``stop`` is set (default: SIGINT or SIGTERM)."""
    check_exposure(host, settings)
    stop = stop or _stop_on_signals()
    runner, bound = await start_site(create_app(backend, settings), host, port)
    log.info("serving the inference API on http://%s:%d", host, bound)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    return stop


# -- the command line -----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m inference serve``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}")
    # -- Ray Serve (inference/rayserve, the optional "ray" extra) --
    parser.add_argument(
        "--ray",
        action="store_true",
        help="run the tasks on Ray Serve (deployments per task, see RAY_DEPLOYMENTS)",
    )
    parser.add_argument(
        "--address",
        help="with --ray: the Ray cluster (auto, ray://host:10001; default: a local one)",
    )


def build_backend(args: argparse.Namespace, settings: InferenceSettings) -> Backend:
    """The backend to serve: the in-process service, or Ray Serve with ``--ray``."""
    if getattr(args, "address", None) and not getattr(args, "ray", False):
        _usage_error("--address is the Ray cluster's: it needs --ray")
    if getattr(args, "ray", False):
        try:
            from ..rayserve import RayBackend  # imports Ray: only here
        except ImportError as exc:
            _usage_error(f'serve --ray needs Ray Serve: pip install -e ".[ray]" ({exc})')
        try:
            return RayBackend(settings, address=args.address)
        except InferenceError as exc:  # RAY_DEPLOYMENTS names an unknown task
            _usage_error(str(exc))
    from ..service import InferenceService

    return InferenceService(settings)


def _usage_error(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(args: argparse.Namespace, settings: InferenceSettings) -> int:
    """Run ``python -m inference serve``; returns the exit status."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        check_exposure(args.host, settings)
    except ExposedWithoutKey as exc:
        log.error("%s", exc)
        return 2
    try:
        asyncio.run(serve(build_backend(args, settings), settings, host=args.host, port=args.port))
    except OSError as exc:  # the port is taken, say
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc.strerror or exc)
        return 1
    return 0
