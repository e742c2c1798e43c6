"""The HTTP client the sandbox talks to gateways and download sites with: the one module that
imports httpx. Everyone else takes these names from here (the walkthrough's exchange.py builds
the gateway client; ``fetch_text`` downloads the install files)."""

from __future__ import annotations

from httpx import (
    AsyncBaseTransport,
    AsyncClient,
    HTTPError,
    InvalidURL,
    LocalProtocolError,
    Timeout,
)

from sandbox.errors import RequestFailed

__all__ = ["AsyncBaseTransport", "AsyncClient", "HTTPError", "InvalidURL", "LocalProtocolError",
           "Timeout", "fetch_text"]


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
