"""The values of a kubeconfig's entries that must be text, checked to be text: YAML reads
``token: yes`` as a boolean and ``token: 0123…`` as a number, and the kubernetes client would send
Python's text of a list (``Bearer ['a', 'b']``); kubectl refuses each ("cannot unmarshal array
into Go struct field … of type string"), and so does the sandbox, by name, never showing it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.kubeconfig import Entry

# The keys of each kind of entry whose value kubectl reads as a string.
TEXT_KEYS = {
    "cluster": ("server", "certificate-authority", "certificate-authority-data",
                "tls-server-name", "proxy-url"),
    "user": ("token", "tokenFile", "client-certificate", "client-certificate-data",
             "client-key", "client-key-data", "username", "password"),
}
# The keys kubectl reads as a boolean. The kubernetes client takes any value that is not empty
# as true: `insecure-skip-tls-verify: 'false'` would switch the certificate check off.
BOOLEAN_KEYS = {"cluster": ("insecure-skip-tls-verify", "disable-compression"), "user": ()}
NUL = "NUL character (U+0000)"
NUL_HINT = ("remove the NUL (written \\0 or \\x00 in a quoted YAML string) from that entry; "
            "`kubectl config view` shows the entry")
QUOTE_HINT = ("write it as one line of text in quotes (`key: \"…\"`): YAML reads yes/no/true/"
              "false and bare digits as something else; `kubectl config view` shows the entry")


def check_text_values(entry: Entry) -> None:
    """Refuse a value of ``entry`` that kubectl reads as a string but that is not text, naming
    its key and the type found (an empty value is left alone: the key is as good as absent)."""
    for key in TEXT_KEYS[entry.kind]:
        _check(entry, key, entry.fields.get(key))
    for key in BOOLEAN_KEYS[entry.kind]:
        value = entry.fields.get(key)
        if value is not None and not isinstance(value, bool):
            raise RuntimeUnavailable(
                f"the {key} of {_who(entry)} is {_type_of(value)}, not true or false",
                f"write `{key}: true` or `{key}: false`, without quotes (kubectl refuses any "
                "other value)")
    spec = entry.fields.get("exec") if entry.kind == "user" else None
    if not isinstance(spec, Mapping):
        return
    _check(entry, "exec command", spec.get("command"))
    _check_env_values(entry, spec.get("env"))
    args = spec.get("args")
    if args is None:
        return
    if not isinstance(args, list):
        raise RuntimeUnavailable(
            f"the exec args of {_who(entry)} is {_type_of(args)}, not a list",
            "write args as a list of text, one `- ARG` line for each argument")
    for index, arg in enumerate(args, 1):
        _check(entry, f"exec args[{index}]", arg)
        if isinstance(arg, str) and "\0" in arg:  # the C strings of execve end at a NUL
            raise RuntimeUnavailable(
                f"the exec args[{index}] of {_who(entry)} holds a {NUL}, which no program "
                "can be given as an argument", NUL_HINT)


def _check_env_values(entry: Entry, env: object) -> None:
    """Refuse an exec env value holding a NUL, naming its entry (its name, never its value:
    it may be a credential); the names and the shape are exec_plugin.py's to check."""
    for item in env if isinstance(env, list) else ():
        value = item.get("value") if isinstance(item, Mapping) else None
        if isinstance(value, str) and "\0" in value:
            raise RuntimeUnavailable(
                f"the exec env entry {str(item.get('name'))!r} of {_who(entry)} has a value "
                f"holding a {NUL}, which no environment variable can hold", NUL_HINT)


def check_context_entries(config: Any, context: Any, kind: str) -> None:
    """Refuse a context (the client's ConfigNode) whose ``kind`` ("user" or "cluster") names
    an entry that ``config``'s list of them does not hold, in kubectl's words ("user \"u\" was
    not found for context \"c\""); a context that names none is left to the client."""
    held_context = getattr(context, "value", context)
    if not isinstance(held_context, Mapping):
        return
    names = getattr(held_context.get("context"), "value", held_context.get("context"))
    wanted = names.get(kind) if isinstance(names, Mapping) else None
    if not isinstance(wanted, str) or not wanted:
        return
    entries = config.value.get(f"{kind}s") if isinstance(config.value, Mapping) else None
    held = [getattr(entry, "value", entry)  # the merger wraps each entry in a ConfigNode
            for entry in (entries if isinstance(entries, list) else [])]
    if any(isinstance(entry, Mapping) and entry.get("name") == wanted for entry in held):
        return
    name = str(held_context.get("name", "?"))
    source = getattr(context, "path", None) or "?"
    raise RuntimeUnavailable(
        f"the context {name!r} in the kubeconfig {source} names the {kind} {wanted!r}, which "
        f"its {kind}s list does not hold (kubectl: {kind} {_go_quoted(wanted)} was not found "
        f"for context {_go_quoted(name)})",
        f"add a {kind} named so to the kubeconfig, or point the context at one it holds; "
        f"`kubectl config view` shows the {kind}s it holds, `kubectl config set-context` "
        "changes a context")


def _go_quoted(text: str) -> str:
    """``text`` quoted as Go's %q quotes it (near enough: its hidden characters escaped)."""
    return json.dumps(text, ensure_ascii=False)


def _check(entry: Entry, key: str, value: object) -> None:
    if value is None or isinstance(value, str):
        return
    raise RuntimeUnavailable(f"the {key} of {_who(entry)} is {_type_of(value)}, not text",
                             QUOTE_HINT)


def _who(entry: Entry) -> str:
    return f"{entry.kind} {entry.name!r} in the kubeconfig {entry.source}"


def _type_of(value: object) -> str:
    """The YAML type of ``value``, in words (never the value: it may be a credential)."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes):
        return "binary data (!!binary)"
    return f"a {type(value).__name__}"  # a date, bytes (!!binary): YAML's other types
