"""The HTTP client the sandbox talks to gateways and download sites with: the one module that
imports httpx. Everyone else takes these names from here (the walkthrough's exchange.py builds
the gateway client; ``fetch_text`` downloads the install files)."""

from __future__ import annotations

import sys

from sandbox.errors import RequestFailed

# httpx's __init__ imports its command-line client (click, rich, pygments: about 100 ms) whenever
# those are installed, as Textual's dependencies make them here. A None entry makes that one
# import fail, and httpx then defines a stub `main` instead, exactly as when they are missing:
# the sandbox uses httpx as a library only.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from httpx import (  # noqa: E402
    AsyncBaseTransport,
    AsyncClient,
    ConnectError,
    ConnectTimeout,
    HTTPError,
    InvalidURL,
    LocalProtocolError,
    Timeout,
)

__all__ = ["AsyncBaseTransport", "AsyncClient", "ConnectError", "ConnectTimeout", "HTTPError",
           "InvalidURL", "LocalProtocolError", "Timeout", "fetch_text"]


async def fetch_text(url: str, timeout: float = 60.0) -> str:
    """Download a small text file (the Gateway API CRD bundle)."""
    try:
        async with AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url)
            response.raise_for_status()
    except HTTPError as exc:
        raise RequestFailed(f"could not download {url}: {exc}",
                            "check the internet connection (or a proxy: HTTPS_PROXY)") from exc
    return response.text
