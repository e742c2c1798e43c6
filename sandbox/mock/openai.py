"""The OpenAI chat-completions API as the mock speaks it: paths, error bodies, what a valid request
body is, completions and stream chunks, and how a key is checked."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from .key_runs import add_apart, key_spans

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
    ``keys`` in it masked as the sandbox masks a key (whole, a run of it as long as half its
    mask hides, or cut into a chain of pieces), in each part of the URL read percent-decoded;
    and a query value named as a credential or shaped like a key, whoever's it is."""
    where, question, query = path.partition("?")
    shown = []
    for pair in query.split("&") if question else []:
        name, equals, value = pair.partition("=")
        plain = unquote_plus(value)
        if equals and plain and (_CREDENTIAL_NAME.fullmatch(unquote_plus(name))
                                 or _KEY_SHAPED.fullmatch(plain)):
            pair = f"{name}={mask(plain)}"
        shown.append(pair)
    return _url_masked(where + question + "&".join(shown), keys)


# What separates the parts of a URL (its path's segments, the query's names and values)
_URL_PARTS = re.compile(r"([/?&=])")
# What a part that shows a mask keeps as it is when quoted again (letters, digits and ``_.-~``
# always are)
_SHOWN_SAFE = "!$'()*,;:@"


def _url_masked(path: str, keys: Iterable[str]) -> str:
    """``path`` with ``keys`` masked where its parts, each percent-decoded (``+`` is a blank
    in the query), hold them: a part that holds none is shown as sent, one that does is shown
    decoded, its mask in place of the key and the rest quoted again (``%00`` stays ``%00``)."""
    parts = _URL_PARTS.split(path)
    decoded, in_query = [], False
    for index, part in enumerate(parts):
        in_query = in_query or part == "?"
        decoded.append(part if index % 2 else unquote_plus(part) if in_query else unquote(part))
    spans = _spans("".join(decoded), keys)
    if not spans:
        return path
    out, at, first = [], 0, 0
    for part, plain in zip(parts, decoded, strict=True):
        end = at + len(plain)
        while first < len(spans) and spans[first][1] <= at:
            first += 1
        if first == len(spans) or spans[first][0] >= end:  # a part holding no key: as sent
            out.append(part)
        else:
            out.append(_masked_part(plain, at, spans[first:]))
        at = end
    return "".join(out)


def _masked_part(plain: str, at: int, spans: list[tuple[int, int, str]]) -> str:
    """A part of a URL (``plain``, decoded, at ``at`` in the decoded URL) with ``spans``'
    masks in it (a span that began in a part before it shows its mask there), quoted again."""
    out, position = [], at
    for begin, end, masked in spans:
        if begin >= at + len(plain):
            break
        out += [_requoted(plain[position - at:max(begin, at) - at]), masked if begin >= at else ""]
        position = min(max(end, at), at + len(plain))
    out.append(_requoted(plain[position - at:]))
    return "".join(out)


def _requoted(text: str) -> str:
    """Decoded text of a URL quoted again, but for the masks' ``…`` (a mask is shown as one)."""
    return "…".join(quote(piece, safe=_SHOWN_SAFE) for piece in text.split("…"))


def _spans(text: str, keys: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where ``text`` holds any of ``keys`` by the rule the sandbox masks by (the longest key
    first), in order and apart, with the masks the 401 shows."""
    taken: list[tuple[int, int, str]] = []
    for key in sorted({k for k in keys if k}, key=len, reverse=True):
        taken = add_apart(taken, key_spans(key, text, mask(key)))
    return taken


def _masked(text: str, keys: Iterable[str]) -> str:
    """``text`` with each of ``keys`` masked in it where :func:`_spans` finds it."""
    out, position = [], 0
    for begin, end, masked in _spans(text, keys):
        out += [text[position:begin], masked]
        position = end
    out.append(text[position:])
    return "".join(out)


# A value that begins as an OpenAI key does: a model name never does (gpt-4o-mini-2024-07-18).
_OPENAI_KEY_SHAPED = re.compile(r"sk-[\w-]{12,}")


def quoted_text(text: str, keys: Iterable[str]) -> str:
    """``text`` from the request that an answer quotes (the ``model``): each of ``keys`` in it
    masked as the sandbox masks a key, and anything that begins as an OpenAI key does."""
    return _OPENAI_KEY_SHAPED.sub(lambda found: mask(found.group()), _masked(text, keys))


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
    text = _TERMINAL_CONTROLS.sub(lambda found: f"\\u{ord(found.group()):04x}",
                                  json.dumps(body, indent=indent, ensure_ascii=False))
    return text.encode(errors="backslashreplace") + b"\n"


# What JSON may carry raw but a terminal acts on (C1 controls: CSI, OSC…) or reads backwards
# (bidi overrides): written as escapes, so a `curl` of the mock hands none of them on.
_TERMINAL_CONTROLS = re.compile("[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


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
