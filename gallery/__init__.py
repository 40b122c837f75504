"""The showcase gallery web page: an aiohttp app over the store (no Discord, no bot)."""

from .app import CSP, gallery_app, serve_gallery

__all__ = ["CSP", "gallery_app", "serve_gallery"]
