"""What a Docker daemon answered, or how talking to it failed, in plain words (never Python's)."""

from __future__ import annotations

from sandbox.documents import load_json
from sandbox.untrusted import visible

SHOWN_CHARACTERS = 60  # of an answer that is not what was expected: enough to recognise it


def error_words(body: bytes, content_type: str) -> str:
    """What an HTTP error answer said, to follow its status ("HTTP 404"): Docker's ``message``,
    a page's kind or the answer's first characters, in parentheses; "" when it said nothing."""
    if not body.strip():
        return ""
    try:
        answer = load_json(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return f" ({_shortened(answer['message'])})"
    if _is_html(body, content_type):
        return f" ({_html_page(content_type)})"
    return f" ({first_characters(body)})"


def first_characters(body: bytes) -> str:
    """The start of ``body`` in quotes, escaped: bytes that are not UTF-8 as ``\\xff``."""
    text = body[:SHOWN_CHARACTERS * 4].decode("utf-8", "backslashreplace").strip()
    return f'"{_shortened(text)}"'


def _shortened(text: str) -> str:
    """``text``'s first line, at most :data:`SHOWN_CHARACTERS` long, its hidden characters
    escaped."""
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    line = line if len(line) <= SHOWN_CHARACTERS else line[:SHOWN_CHARACTERS - 1] + "…"
    return visible(line)


def _media_type(content_type: str) -> str:
    """``text/html`` of ``text/html; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_html(body: bytes, content_type: str) -> bool:
    if _media_type(content_type) in ("text/html", "application/xhtml+xml"):
        return True
    start = body.lstrip()[:15].lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _html_page(content_type: str) -> str:
    media_type = _media_type(content_type)
    return f"an HTML page ({visible(media_type[:40])})" if media_type else "an HTML page"
