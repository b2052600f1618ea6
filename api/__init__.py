"""The API and console: REST and websocket over alerting's and the registry's interfaces."""

from api.app import create_app

__all__ = ["create_app"]
