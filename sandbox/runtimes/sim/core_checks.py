"""The checks compiled into the API server: ObjectMeta, and the core kinds Secret and ConfigMap.

Worded as k8s.io/apimachinery's validation and k8s.io/kubernetes' ``ValidateSecret`` and
``ValidateConfigMap`` word them (v1.34), so a refusal reads as ``kubectl apply`` prints it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from sandbox.runtimes.sim.structural import FieldError, go_value

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME = re.compile(f"^{_QUALIFIED}$")
QUALIFIED_MESSAGE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start "
                     "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                     f"'123-abc', regex used for validation is '{_QUALIFIED}')")
LABEL_VALUE = re.compile(f"^({_QUALIFIED})?$")
LABEL_VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                       f"validation is '({_QUALIFIED})?')")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MESSAGE = ("a valid config key must consist of alphanumeric characters, '-', '_' or "
                      "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                      "validation is '[-._a-zA-Z0-9]+')")
ANNOTATIONS_LIMIT = 256 * 1024
DATA_LIMIT = 1024 * 1024  # core.MaxSecretSize, for ConfigMaps too
# Secret types and the data keys each requires (ValidateSecret; the others need none).
REQUIRED_KEYS = {"kubernetes.io/tls": ("tls.crt", "tls.key"),
                 "kubernetes.io/dockercfg": (".dockercfg",),
                 "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
                 "kubernetes.io/ssh-auth": ("ssh-privatekey",)}


def meta_errors(metadata: Any) -> list[FieldError]:
    """ValidateObjectMetaAccessor: the name, the labels and the annotations."""
    if not isinstance(metadata, Mapping):
        metadata = {}
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        return [FieldError("metadata.name", "Required value",
                           "Required value: name or generateName is required")]
    errors = []
    if isinstance(name, str):
        problems = dns_subdomain_problems(name)
        errors += [FieldError("metadata.name", "Invalid value",
                              f"Invalid value: {go_value(name)}: {p}") for p in problems]
    labels = metadata.get("labels") if isinstance(metadata.get("labels"), Mapping) else {}
    for key, value in labels.items():
        errors += _invalid("metadata.labels", key, qualified_name_problems(str(key)))
        errors += _invalid("metadata.labels", value, label_value_problems(str(value or "")))
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            errors += _invalid("metadata.annotations", key,
                               qualified_name_problems(str(key).lower()))
        size = sum(len(str(k).encode()) + len(str(v or "").encode())
                   for k, v in annotations.items())
        if size > ANNOTATIONS_LIMIT:
            errors.append(_too_long("metadata.annotations", ANNOTATIONS_LIMIT))
    return errors


def dns_subdomain_problems(value: str) -> list[str]:
    problems = ["must be no more than 253 characters"] if len(value) > 253 else []
    return problems + ([] if DNS_SUBDOMAIN.match(value) else [DNS_SUBDOMAIN_MESSAGE])


def qualified_name_problems(value: str) -> list[str]:
    """IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of 63 at most."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + QUALIFIED_MESSAGE + " with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"]
    problems = []
    if len(parts) == 2:
        prefix = parts[0]
        problems += (["prefix part must be non-empty"] if not prefix else
                     ["prefix part " + p for p in dns_subdomain_problems(prefix)])
    name = parts[-1]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if not QUALIFIED_NAME.match(name):
        problems.append("name part " + QUALIFIED_MESSAGE)
    return problems


def label_value_problems(value: str) -> list[str]:
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    return problems + ([] if LABEL_VALUE.match(value) else [LABEL_VALUE_MESSAGE])


def config_key_problems(key: str) -> list[str]:
    """IsConfigMapKey: also the keys of a Secret's data."""
    problems = ["must be no more than 253 characters"] if len(key) > 253 else []
    if not CONFIG_KEY.match(key):
        problems.append(CONFIG_KEY_MESSAGE)
    if key in (".", ".."):
        problems.append(f"must not be '{key}'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def secret_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """ValidateSecret on the object as the API server converts it (stringData folded in)."""
    data = {str(k): _decoded(v) for k, v in (obj.get("data") or {}).items()}
    data.update({str(k): str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    errors = []
    for key in data:
        errors += _invalid(f"data[{key}]", key, config_key_problems(key))
    if sum(len(value) for value in data.values()) > DATA_LIMIT:
        errors.append(_too_long("data", DATA_LIMIT))
    secret_type = str(obj.get("type") or "Opaque")
    if secret_type == "kubernetes.io/service-account-token":
        name = "kubernetes.io/service-account.name"
        if not ((obj.get("metadata") or {}).get("annotations") or {}).get(name):
            errors.append(FieldError(f"metadata.annotations[{name}]", "Required value",
                                     "Required value"))
    elif secret_type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errors += [FieldError(f"data[{k}]", "Required value", "Required value")
                       for k in ("username", "password")]
    else:
        # ssh-auth needs a non-empty key; the others only its presence
        empty_counts = secret_type == "kubernetes.io/ssh-auth"
        errors += [FieldError(f"data[{k}]", "Required value", "Required value")
                   for k in REQUIRED_KEYS.get(secret_type, ())
                   if k not in data or (empty_counts and not data[k])]
    return errors


def config_map_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """ValidateConfigMap: valid keys, none in both data and binaryData, 1 MiB in all."""
    data = {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    binary = {str(k): _decoded(v) for k, v in (obj.get("binaryData") or {}).items()}
    errors = []
    for key in data:
        errors += _invalid(f"data[{key}]", key, config_key_problems(key))
        if key in binary:
            errors += _invalid(f"data[{key}]", key, ["duplicate of key present in binaryData"])
    for key in binary:
        errors += _invalid(f"binaryData[{key}]", key, config_key_problems(key))
    size = sum(len(v.encode()) for v in data.values()) + sum(len(v) for v in binary.values())
    if size > DATA_LIMIT:
        errors.append(_too_long("<nil>", DATA_LIMIT))
    return errors


# The compiled-in checks of each core kind the simulated cluster serves.
CORE_CHECKS = {"Secret": secret_errors, "ConfigMap": config_map_errors}


def _decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):  # refused earlier, on conversion
        return b""


def _invalid(path: str, value: Any, problems: list[str]) -> list[FieldError]:
    return [FieldError(path, "Invalid value", f"Invalid value: {go_value(value)}: {p}")
            for p in problems]


def _too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, "Too long", f"Too long: may not be more than {limit} bytes")


# -- Go's encoding/base64 (StdEncoding), for the offset its CorruptInputError names -----------
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = frozenset(b"\r\n")


def base64_error_offset(text: str) -> int | None:
    """Where Go's base64.StdEncoding.Decode stops on ``text`` (None: it decodes)."""
    src = text.encode()
    at = 0
    while at < len(src):
        at, error = _quantum(src, at)
        if error is not None:
            return error
    return None


def _quantum(src: bytes, at: int) -> tuple[int, int | None]:
    """One 4-character quantum of decodeQuantum: (where the next starts, error offset)."""
    j = 0
    while j < 4:
        if at == len(src):
            return at, None if j == 0 else at - j
        char = src[at]
        at += 1
        if char in _BASE64:
            j += 1
        elif char in _NEWLINES:
            continue
        elif char != ord("=") or j < 2:
            return at, at - 1
        else:
            return _padding(src, at, j)
    return at, None


def _padding(src: bytes, at: int, j: int) -> tuple[int, int | None]:
    """After the first "=": a second one is due after two characters, then only newlines."""
    if j == 2:
        at = _skip_newlines(src, at)
        if at == len(src):
            return at, len(src)
        if src[at] != ord("="):
            return at, at - 1
        at += 1
    at = _skip_newlines(src, at)
    return at, at if at < len(src) else None


def _skip_newlines(src: bytes, at: int) -> int:
    while at < len(src) and src[at] in _NEWLINES:
        at += 1
    return at
