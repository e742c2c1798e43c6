"""The HTTP client the sandbox talks to gateways and download sites with: the one module that
imports httpx. Everyone else takes these names from here (exchange.py builds the client)."""

from __future__ import annotations

from httpx import (
    AsyncBaseTransport,
    AsyncClient,
    HTTPError,
    InvalidURL,
    LocalProtocolError,
    Timeout,
)

__all__ = ["AsyncBaseTransport", "AsyncClient", "HTTPError", "InvalidURL", "LocalProtocolError",
           "Timeout"]
