"""The inference service as an HTTP server (aiohttp, one NDJSON event stream per job).

``create_app(backend, settings)`` serves any ``Backend``; ``serve`` runs it until a
signal; ``python -m inference serve`` is the command line (see ``runner``).
"""

from .app import create_app
from .runner import ExposedWithoutKey, check_exposure, serve, start_site

__all__ = ["ExposedWithoutKey", "check_exposure", "create_app", "serve", "start_site"]
