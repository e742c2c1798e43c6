"""What the API server would refuse: the CRD schemas and rules the simulated cluster enforces.

A hand-written subset of the upstream schemas (Gateway API v1.4.0, kgateway v2.1.x) covering the
fields the scenarios use, with the API server's wording, so a typo fails in the simulation the
way it fails on a real cluster. Subtrees marked ``OPEN`` are accepted as they are.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ManifestRejected


@dataclass(frozen=True)
class Schema:
    type: str = "any"
    props: Mapping[str, Schema] | None = None  # None: any keys are allowed
    required: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    items: Schema | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    rules: tuple[Callable[[Mapping[str, Any]], str | None], ...] = field(default=())


OPEN = Schema("object")
ANY = Schema()
TEXT = Schema("string")
NAME = Schema("string", min_length=1, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PORT = Schema("integer", minimum=1, maximum=65535)


def obj(required: tuple[str, ...] = (),
        rules: tuple[Callable[[Mapping[str, Any]], str | None], ...] = (), /,
        **props: Schema) -> Schema:
    return Schema("object", props=props, required=required, rules=rules)


def arr(items: Schema) -> Schema:
    return Schema("array", items=items)


def _exactly_one(*names: str) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(value: Mapping[str, Any]) -> str | None:
        if sum(name in value for name in names) != 1:
            return f"exactly one of the fields in [{' '.join(names)}] must be set"
        return None
    return rule


def _when_type(type_value: str, field_name: str) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(value: Mapping[str, Any]) -> str | None:
        if value.get("type") == type_value and field_name not in value:
            return f"{field_name} backend must be specified when type is '{type_value}'"
        return None
    return rule


def _host_and_port(value: Mapping[str, Any]) -> str | None:
    if ("host" in value) != ("port" in value):
        return "both host and port must be set together"
    return None


def _at_most_inline_or_ref(value: Mapping[str, Any]) -> str | None:
    if "inline" in value and "secretRef" in value:
        return "at most one of the fields in [inline secretRef] may be set"
    return None


def _rewrite_rule(kind: str, key: str, required: bool) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(value: Mapping[str, Any]) -> str | None:
        if required and value.get("type") == kind and key not in value:
            return f"{key} must be specified when type is set to '{kind}'"
        if not required and key in value and value.get("type") != kind:
            return f"type must be '{kind}' when {key} is set"
        return None
    return rule


REWRITE_RULES = tuple(_rewrite_rule(kind, key, required)
                      for kind, key in (("ReplaceFullPath", "replaceFullPath"),
                                        ("ReplacePrefixMatch", "replacePrefixMatch"))
                      for required in (True, False))


def _filter_matches_type(value: Mapping[str, Any]) -> str | None:
    kinds = {"RequestHeaderModifier": "requestHeaderModifier", "URLRewrite": "urlRewrite",
             "ResponseHeaderModifier": "responseHeaderModifier", "RequestMirror": "requestMirror",
             "RequestRedirect": "requestRedirect", "ExtensionRef": "extensionRef"}
    for kind, key in kinds.items():
        if value.get("type") == kind and key not in value:
            return f"filter.{key} must be specified for {kind} filter.type"
        if key in value and value.get("type") != kind:
            return f"filter.{key} must be nil if the filter.type is not {kind}"
    return None


def _absolute_path(value: Mapping[str, Any]) -> str | None:
    prefix_or_exact = value.get("type", "PathPrefix") in ("Exact", "PathPrefix")
    if prefix_or_exact and not str(value.get("value", "/")).startswith("/"):
        return ("value must be an absolute path and start with '/' when type one of "
                    "['Exact', 'PathPrefix']")
    return None


AUTH_TOKEN = obj(("kind",), (_at_most_inline_or_ref,),
                 kind=Schema("string", enum=("Inline", "SecretRef", "Passthrough")),
                 inline=TEXT, secretRef=obj(name=TEXT))
PROVIDERS = ("openai", "azureopenai", "anthropic", "gemini", "vertexai", "bedrock")
LLM = obj(
    (), (_host_and_port, _exactly_one(*PROVIDERS)),
    openai=obj(("authToken",), authToken=AUTH_TOKEN, model=TEXT),
    azureopenai=OPEN, anthropic=OPEN, gemini=OPEN, vertexai=OPEN, bedrock=OPEN,
    host=Schema("string", min_length=1), port=Schema("integer"),
    path=obj(full=Schema("string", min_length=1)), authHeader=OPEN,
)
BACKEND_SPEC = obj(
    ("type",),
    (*(_when_type(t, f) for t, f in (("AI", "ai"), ("AWS", "aws"), ("Static", "static"),
                                     ("DynamicForwardProxy", "dynamicForwardProxy"),
                                     ("MCP", "mcp"))),
     _exactly_one("ai", "aws", "static", "dynamicForwardProxy", "mcp")),
    type=Schema("string", enum=("AI", "AWS", "Static", "DynamicForwardProxy", "MCP")),
    ai=obj((), (_exactly_one("llm", "priorityGroups"),), llm=LLM, priorityGroups=ANY),
    aws=OPEN, static=OPEN, dynamicForwardProxy=OPEN, mcp=OPEN,
)
PARENT_REF = obj(("name",), group=TEXT, kind=TEXT, name=Schema("string", min_length=1),
                 namespace=TEXT, port=PORT, sectionName=TEXT)
BACKEND_REF = obj(("name",), group=TEXT, kind=TEXT, name=Schema("string", min_length=1),
                  namespace=TEXT, port=PORT, weight=Schema("integer", minimum=0),
                  filters=arr(OPEN))
HTTP_FILTER = obj(
    ("type",), (_filter_matches_type,),
    type=Schema("string", enum=("RequestHeaderModifier", "ResponseHeaderModifier",
                                "RequestMirror", "RequestRedirect", "URLRewrite",
                                "ExtensionRef")),
    urlRewrite=obj(hostname=TEXT, path=obj(
        ("type",), REWRITE_RULES,
        type=Schema("string", enum=("ReplaceFullPath", "ReplacePrefixMatch")),
        replaceFullPath=TEXT, replacePrefixMatch=TEXT)),
    requestHeaderModifier=OPEN, responseHeaderModifier=OPEN, requestMirror=OPEN,
    requestRedirect=OPEN, extensionRef=OPEN,
)
METHOD = Schema("string", enum=("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                 "TRACE", "PATCH"))
PATH_MATCH = obj((), (_absolute_path,), value=TEXT,
                 type=Schema("string", enum=("Exact", "PathPrefix", "RegularExpression")))
ROUTE_MATCH = obj(path=PATH_MATCH, headers=arr(OPEN), queryParams=arr(OPEN), method=METHOD)
ROUTE_RULE = obj(name=TEXT, timeouts=OPEN, filters=arr(HTTP_FILTER), backendRefs=arr(BACKEND_REF),
                 matches=arr(ROUTE_MATCH))
HTTPROUTE_SPEC = obj(parentRefs=arr(PARENT_REF), hostnames=arr(TEXT), rules=arr(ROUTE_RULE))
ALLOWED_NAMESPACES = obj(selector=OPEN,
                         **{"from": Schema("string", enum=("All", "Selector", "Same"))})
LISTENER = obj(("name", "port", "protocol"), name=Schema("string", min_length=1), port=PORT,
               protocol=Schema("string", min_length=1), hostname=TEXT, tls=OPEN,
               allowedRoutes=obj(kinds=arr(OPEN), namespaces=ALLOWED_NAMESPACES))
GATEWAY_SPEC = obj(("gatewayClassName", "listeners"),
                   gatewayClassName=Schema("string", min_length=1), addresses=arr(OPEN),
                   infrastructure=OPEN, listeners=arr(LISTENER))
METADATA = obj(("name",), name=NAME, namespace=TEXT, labels=OPEN, annotations=OPEN,
               generateName=TEXT, resourceVersion=TEXT, uid=TEXT, generation=ANY,
               creationTimestamp=ANY, managedFields=ANY, finalizers=ANY, ownerReferences=ANY)


def _top(spec: Schema | None = None, **extra: Schema) -> Schema:
    props: dict[str, Schema] = {"apiVersion": TEXT, "kind": TEXT, "metadata": METADATA,
                                "status": OPEN, **extra}
    if spec is not None:
        props["spec"] = spec
    return Schema("object", props=props, required=("spec",) if spec is not None else ())


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    schema: Schema

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


KINDS = {
    (k.api_version, k.kind): k for k in (
        Kind("v1", "Secret", "secrets", _top(None, type=TEXT, immutable=Schema("boolean"),
                                             data=OPEN, stringData=OPEN)),
        Kind("v1", "ConfigMap", "configmaps", _top(None, data=OPEN, binaryData=OPEN)),
        Kind("gateway.networking.k8s.io/v1", "Gateway", "gateways", _top(GATEWAY_SPEC)),
        Kind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes", _top(HTTPROUTE_SPEC)),
        Kind("gateway.kgateway.dev/v1alpha1", "Backend", "backends", _top(BACKEND_SPEC)),
        # Placeholder until the schema generated from the v1.4.1 CRD lands here.
        Kind("agentgateway.dev/v1alpha1", "AgentgatewayBackend", "agentgatewaybackends",
             _top(OPEN)),
    )
}


def kind_of(doc: Mapping[str, Any]) -> Kind:
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    found = KINDS.get((api_version, kind))
    if found is None:
        raise ManifestRejected(
            f'no matches for kind "{kind}" in version "{api_version}"',
            "check apiVersion and kind (they are case-sensitive); this cluster knows: "
            + ", ".join(f"{k.kind} ({k.api_version})" for k in KINDS.values()),
        )
    return found


def admit(doc: Mapping[str, Any]) -> Kind:
    """Raise :class:`ManifestRejected` as the API server would; return the manifest's kind."""
    kind = kind_of(doc)
    name = str((doc.get("metadata") or {}).get("name", ""))
    unknown: list[str] = []
    errors: list[str] = []
    _validate(doc, kind.schema, "", errors, unknown)
    if unknown:
        raise ManifestRejected(
            f'{kind.kind} in version "{kind.api_version.rpartition("/")[2]}" cannot be handled '
            f'as a {kind.kind}: strict decoding error: '
            + ", ".join(f'unknown field "{u}"' for u in unknown),
            "a field name is misspelled or in the wrong place (names are case-sensitive)",
        )
    if kind.kind == "Secret":
        errors += _secret_data_errors(doc)
    if errors:
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        raise ManifestRejected(f'{kind.qualified} "{name}" is invalid: {joined}',
                               "fix the fields named above and apply again")
    return kind


def _secret_data_errors(doc: Mapping[str, Any]) -> list[str]:
    errors = []
    for key, value in (doc.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            errors.append(f"data[{key}]: Invalid value: illegal base64 data (use stringData "
                          "for plain text)")
    return errors


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "boolean": (bool,),
}


def _validate(value: Any, schema: Schema, path: str, errors: list[str],
              unknown: list[str]) -> None:
    if schema.type != "any":
        expected = _JSON_TYPES[schema.type]
        wrong_bool = isinstance(value, bool) and schema.type == "integer"
        if not isinstance(value, expected) or wrong_bool:
            got = "null" if value is None else type(value).__name__.replace("str", "string")
            errors.append(f'{path}: Invalid value: "{got}": {path} in body must be of type '
                          f"{schema.type}")
            return
    if isinstance(value, dict):
        _validate_object(value, schema, path, errors, unknown)
    elif isinstance(value, list) and schema.items is not None:
        for index, item in enumerate(value):
            _validate(item, schema.items, f"{path}[{index}]", errors, unknown)
    elif isinstance(value, str):
        if schema.enum and value not in schema.enum:
            supported = ", ".join(f'"{e}"' for e in schema.enum)
            errors.append(f'{path}: Unsupported value: "{value}": supported values: {supported}')
        if schema.min_length is not None and len(value) < schema.min_length:
            errors.append(f'{path}: Invalid value: "": {path} in body should be at least '
                          f"{schema.min_length} chars long")
        if schema.pattern and value and not re.match(schema.pattern, value):
            errors.append(f'{path}: Invalid value: "{value}": a lowercase RFC 1123 subdomain '
                          "must consist of lower case alphanumeric characters or '-'")
    elif isinstance(value, int) and not isinstance(value, bool):
        if schema.minimum is not None and value < schema.minimum:
            errors.append(f"{path}: Invalid value: {value}: {path} in body should be greater "
                          f"than or equal to {schema.minimum}")
        if schema.maximum is not None and value > schema.maximum:
            errors.append(f"{path}: Invalid value: {value}: {path} in body should be less "
                          f"than or equal to {schema.maximum}")


def _validate_object(value: dict[str, Any], schema: Schema, path: str, errors: list[str],
                     unknown: list[str]) -> None:
    prefix = f"{path}." if path else ""
    for key in schema.required:
        if key not in value:
            errors.append(f"{prefix}{key}: Required value")
    if schema.props is not None:
        for key, item in value.items():
            child = schema.props.get(key)
            if child is None:
                unknown.append(f"{prefix}{key}")
            else:
                _validate(item, child, f"{prefix}{key}", errors, unknown)
    for rule in schema.rules:
        message = rule(value)
        if message:
            errors.append(f'{path or "<root>"}: Invalid value: "object": {message}')
