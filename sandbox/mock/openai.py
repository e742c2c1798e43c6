"""The OpenAI chat-completions API as the mock speaks it: paths, error bodies, what a valid request
body is, completions and stream chunks, and how a key is checked."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote_plus

from .key_chains import chain_spans

HEALTH_PATH = "/healthz"
COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
MODELS = ("gpt-3.5-turbo", "gpt-4o-mini", "gpt-4o")
CREATED = 1_700_000_000  # fixed, so every answer is byte-for-byte reproducible
NO_KEY_MESSAGE = (
    "You didn't provide an API key. Send it in the Authorization header as "
    "'Bearer YOUR_KEY'. (mock provider)"
)
BAD_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. The OpenAI API expects a JSON object "
    "as the payload. (mock provider)"
)
ROLES = ("system", "developer", "user", "assistant", "tool")


def mask(key: str) -> str:
    """Masked form of a key, ``sk-…abcd``; kept in step with
    ``sandbox.walkthrough.key_mask.mask_key``."""
    if len(key) <= 8:
        return f"…{key[-2:]}" if len(key) >= 6 else ("…" if key else "")
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


# A query parameter named so holds a credential, whatever its value looks like (Google's
# ``?key=``, ``?api_key=``, ``?access_token=``...).
_CREDENTIAL_NAME = re.compile(r"(?i)(?:api[-_]?)?key|(?:access[-_]?|id[-_]?)?token|auth\w*"
                              r"|secret|password|signature|sig")
# A value shaped like a provider's key: a prefix, a dash, a long run (sk-test-..., sk-proj-...).
_KEY_SHAPED = re.compile(r"[A-Za-z]{2,12}-[\w-]{12,}")


def bearer_key(authorization: str | None) -> str:
    """The key an Authorization header carries (after ``Bearer``, or the whole value)."""
    if not authorization or not authorization.strip():
        return ""
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else authorization.strip()


def quoted_path(path: str, keys: Iterable[str]) -> str:
    """``path`` as an error may quote it (OpenAI quotes the path with its query): each of
    ``keys`` in it, as sent or percent-encoded, masked as the 401 masks a key; and so is a
    query value named as a credential or shaped like a key, whoever's it is."""
    where, question, query = path.partition("?")
    shown = []
    for pair in query.split("&") if question else []:
        name, equals, value = pair.partition("=")
        plain = unquote_plus(value)
        if equals and plain and (_CREDENTIAL_NAME.fullmatch(unquote_plus(name))
                                 or _KEY_SHAPED.fullmatch(plain)):
            pair = f"{name}={mask(plain)}"
        shown.append(pair)
    path = where + question + "&".join(shown)
    for key in sorted({k for k in keys if k}, key=len, reverse=True):
        for form in dict.fromkeys((key, quote(key, safe=""), quote(key))):
            path = path.replace(form, mask(key))
    return _pieces_masked(path, keys)


def _pieces_masked(text: str, keys: Iterable[str]) -> str:
    """``text`` with each of ``keys`` cut into short pieces (``?a=sk-test-ca&b=naryQ7z9X4&c=``)
    masked by the rule the sandbox masks its panes by: a mask in each piece's place."""
    for key in sorted({k for k in keys if k}, key=len, reverse=True):
        for start, end, masked in reversed(chain_spans(key, text, mask(key))):
            text = text[:start] + masked + text[end:]
    return text


# A value that begins as an OpenAI key does: a model name never does (gpt-4o-mini-2024-07-18).
_OPENAI_KEY_SHAPED = re.compile(r"sk-[\w-]{12,}")


def quoted_text(text: str, keys: Iterable[str]) -> str:
    """``text`` from the request that an answer quotes (the ``model``): each of ``keys`` in it
    masked, and anything that begins as an OpenAI key does."""
    for key in sorted({k for k in keys if k}, key=len, reverse=True):
        text = text.replace(key, mask(key))
    return _pieces_masked(_OPENAI_KEY_SHAPED.sub(lambda found: mask(found.group()), text), keys)


def error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    """An error body in OpenAI's shape."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def check_key(authorization: str | None, accepted: frozenset[str]
              ) -> tuple[int, dict[str, Any] | None, str]:
    """Return (status, error body or None, masked key) the way the real provider decides."""
    key = bearer_key(authorization)
    if not key:
        return 401, error(NO_KEY_MESSAGE, "invalid_request_error", None), ""
    if key not in accepted:
        message = f"Incorrect API key provided: {mask(key)}. (mock provider)"
        return 401, error(message, "invalid_request_error", "invalid_api_key"), mask(key)
    return 200, None, mask(key)


def completion_text(masked_key: str, model: str) -> str:
    return (
        f"Hello from the mock provider, answering as {model}. "
        f"The request reached me with the API key {masked_key} in its Authorization header."
    )


def json_bytes(body: dict[str, Any], indent: int | None = 2) -> bytes:
    """``body`` as JSON in UTF-8. A lone surrogate echoed from a request (JSON may hold
    ``"\\ud800"``, UTF-8 cannot) goes back as that same escape."""
    text = json.dumps(body, indent=indent, ensure_ascii=False)
    return text.encode(errors="backslashreplace") + b"\n"


def parse(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The request object, or None and the 400 error the real API gives for this body."""
    try:  # NaN and Infinity are Python's extension, not JSON: the real API refuses them
        request = json.loads(raw or b"{}", parse_constant=_not_json)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly deep
        return None, error(BAD_JSON_MESSAGE, "invalid_request_error", None)
    if not isinstance(request, dict):
        kind = "an array" if isinstance(request, list) else f"a {type(request).__name__}"
        message = f"Invalid type for body: expected an object, but got {kind} instead."
        return None, error(message, "invalid_request_error", None)
    if "messages" not in request:
        return None, error("Missing required parameter: 'messages'.", "invalid_request_error",
                            "missing_required_parameter")
    messages = request["messages"]
    if not isinstance(messages, list):
        message = "Invalid type for 'messages': expected an array of message objects."
        return None, error(message, "invalid_request_error", "invalid_type")
    if not messages:
        return None, error("Invalid 'messages': empty array. Expected an array with minimum "
                            "length 1.", "invalid_request_error", "empty_array")
    for index, entry in enumerate(messages):
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            message = (f"Invalid value for 'messages[{index}].role': supported values are "
                       + ", ".join(f"'{role}'" for role in ROLES) + ".")
            return None, error(message, "invalid_request_error", "invalid_value")
    if not isinstance(request.get("stream", False), bool):
        return None, error("Invalid type for 'stream': expected a boolean.",
                            "invalid_request_error", "invalid_type")
    return request, {}


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def deltas(text: str) -> Iterable[tuple[dict[str, str], str | None]]:
    yield {"role": "assistant", "content": ""}, None
    words = text.split(" ")
    for index, word in enumerate(words):
        yield {"content": word if index == 0 else f" {word}"}, None
    yield {}, "stop"


def completion_id(request: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(request.get("messages"), sort_keys=True).encode())
    return f"chatcmpl-mock-{digest.hexdigest()[:12]}"


def completion(model: str, text: str, request: dict[str, Any]) -> dict[str, Any]:
    messages = request.get("messages") or []
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages
                        if isinstance(m, dict))
    completion_tokens = len(text.split())
    return {
        "id": completion_id(request),
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
