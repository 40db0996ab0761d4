"""Typed async SDK for the Ozon Seller API."""

from ozon_async._version import __version__

__all__ = ["__version__"]
