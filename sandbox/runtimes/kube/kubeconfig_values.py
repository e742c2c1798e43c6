"""Values of a kubeconfig's entries that the kubernetes client would stumble on, named with their
entry, their file and what to write instead: a server address it cannot use (kubectl refuses
the same), certificate data that is not base64 PEM; and what a server's certificate is checked
against, for the message that says it is not trusted."""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.kubeconfig import Entry
from sandbox.runtimes.kube.secrets import shown_url
from sandbox.untrusted import describe, first_hidden

SERVER_HINT = ("write the API server's address as https://HOST:PORT (`kubectl cluster-info` "
               "with a working context shows it; `kind get kubeconfig` writes a kind cluster's)")
# The base64 fields an https connection reads, each with what it holds and the key naming a file
# that holds the same.
DATA_FIELDS = {"cluster": (("certificate-authority-data", "certificate",
                            "certificate-authority"),),
               "user": (("client-certificate-data", "certificate", "client-certificate"),
                        ("client-key-data", "key", "client-key"))}
_LINE_BREAKS = re.compile(r"[\r\n]")  # Go's base64 decoder skips them, as kubectl reads data


def check_server(cluster: Entry) -> None:
    """Refuse a server URL the client cannot connect to: a scheme other than https or http, no
    host, a port that is not one. (One without ``://`` is left to the client, as before.)"""
    server = cluster.fields.get("server")
    if not isinstance(server, str) or "://" not in server:
        return
    if "\\" in server.partition("://")[2].partition("/")[0]:
        # urllib3 ends the host at a backslash (and would send the rest as the path), Python's
        # urlsplit does not (it would name another host): Go refuses either reading.
        # Named up to the backslash: what follows may be read as a user and password.
        raise _server_refusal(cluster, server.partition("\\")[0] + "\\…", "holds a backslash "
                              "(\\) before its path, which kubectl refuses (net/url: invalid "
                              "userinfo, or an invalid host name)")
    try:
        parts = urlsplit(server)
    except ValueError as exc:
        raise _server_refusal(cluster, server, f"cannot be read as a URL ({_lower(str(exc))})"
                              ) from None
    if parts.scheme.lower() not in ("https", "http"):
        raise _server_refusal(cluster, server, f"has the scheme {parts.scheme!r}; the client "
                              "speaks https or http")
    if not parts.hostname:
        raise _server_refusal(cluster, server, "has no host")
    if parts.query or server.endswith("?"):  # the client would append paths after it
        raise _server_refusal(cluster, server, f"has a query (?{parts.query})")
    if parts.fragment or server.endswith("#"):
        raise _server_refusal(cluster, server, f"has a fragment (#{parts.fragment})")
    try:
        port = parts.port
    except ValueError:
        given = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        problem = (f"has the port {given}, out of range (1-65535)" if given.isdigit()
                   else f"has the port {given!r}, which is not a number")
        raise _server_refusal(cluster, server, problem) from None
    if port == 0:
        raise _server_refusal(cluster, server, "has the port 0, out of range (1-65535)")


def check_server_characters(cluster: Entry) -> None:
    """Refuse a server address that holds a line break, a tab or another hidden character,
    where it is: urllib3 would fail on it with words of its own docstring."""
    server = cluster.fields.get("server")
    found = first_hidden(server, one_line=True) if isinstance(server, str) else None
    if isinstance(server, str) and found is not None:
        position, char = found
        raise _server_refusal(cluster, server, f"holds {describe(char)} at position {position}")


def _server_refusal(cluster: Entry, server: str, problem: str) -> RuntimeUnavailable:
    return RuntimeUnavailable(f"the server {shown_url(server)} of cluster {cluster.name!r} in the "
                              f"kubeconfig {cluster.source} {problem}", SERVER_HINT)


def check_data(entry: Entry) -> None:
    """Refuse certificate or key data that is not base64, or not PEM once decoded: kubectl
    refuses both ("illegal base64 data", "unable to parse bytes as PEM block")."""
    for key, holds, file_key in DATA_FIELDS[entry.kind]:
        value = entry.fields.get(key)
        if value is None or value == "":
            continue
        problem = _data_problem(value, holds)
        if problem is not None:
            raise RuntimeUnavailable(
                f"the {key} of {entry.kind} {entry.name!r} in the kubeconfig {entry.source} "
                f"{problem}", f"give it the PEM file base64-encoded on one line (`base64 -w0 "
                f"FILE`), or name the file with {file_key}")


def check_pem_files(entry: Entry) -> None:
    """Refuse a certificate or key file (already checked: regular, of a credential's size) that
    is not PEM text, which the TLS handshake would fail on with "PEM lib"."""
    for inline, holds, key in DATA_FIELDS[entry.kind]:
        named = entry.fields.get(key)
        if not isinstance(named, str) or not named or entry.fields.get(inline):
            continue
        path = Path(os.path.normpath(Path(entry.folder, named)))  # as Entry.check_files
        try:
            content = path.read_bytes()
        except OSError:
            continue  # gone since it was checked: the client says so
        if b"-----BEGIN " not in content:
            raise RuntimeUnavailable(
                f"the {key} {path} of {entry.kind} {entry.name!r} in the kubeconfig "
                f"{entry.source} is not a PEM {holds} (text with a -----BEGIN line)",
                f"point it at the PEM file, or give its content base64-encoded as {inline}")


def _data_problem(value: object, holds: str) -> str | None:
    if not isinstance(value, str):
        return "is not text"
    try:
        decoded = base64.b64decode(_LINE_BREAKS.sub("", value), validate=True)
    except (binascii.Error, ValueError):
        return "is not base64"
    if b"-----BEGIN " not in decoded:
        return f"is not a PEM {holds} once decoded"
    return None


def trusted_by(cluster: Entry) -> str:
    """What the server's certificate is checked against, in words."""
    where = f"of cluster {cluster.name!r} in the kubeconfig {cluster.source}"
    if cluster.fields.get("certificate-authority-data"):
        return f"the certificate-authority-data {where}"
    if cluster.fields.get("certificate-authority"):
        return f"the certificate-authority {cluster.fields['certificate-authority']} {where}"
    return (f"the certificate authorities this machine trusts (cluster {cluster.name!r} in the "
            f"kubeconfig {cluster.source} names none)")


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


CA_KEYS = ("certificate-authority", "certificate-authority-data")


def skips_verification(cluster: Entry) -> bool:
    """Whether the entry says ``insecure-skip-tls-verify: true``."""
    return cluster.fields.get("insecure-skip-tls-verify") is True


def check_tls_choice(cluster: Entry) -> None:
    """Refuse a certificate authority together with ``insecure-skip-tls-verify``, as client-go
    refuses it: the entry asks both to check the server's certificate and not to."""
    given = next((key for key in CA_KEYS if cluster.fields.get(key)), None)
    if given is not None and skips_verification(cluster):
        raise RuntimeUnavailable(
            f"cluster {cluster.name!r} in the kubeconfig {cluster.source} sets both {given} "
            "and insecure-skip-tls-verify, which kubectl refuses (\"specifying a root "
            "certificates file with the insecure flag is not allowed\")",
            f"remove one: keep {given} to check the server's certificate against it, or "
            "remove it to skip the check")


def with_scheme(cluster: Entry, user: Entry | None) -> str | None:
    """A server address without a scheme as client-go completes it (None: it has one, or is
    not text): https when the entries set up TLS (a CA, a client certificate, skipping the
    check), http otherwise."""
    server = cluster.fields.get("server")
    if not isinstance(server, str) or not server or "://" in server:
        return None
    certificate = user is not None and bool(user.fields.get("client-certificate")
                                            or user.fields.get("client-certificate-data"))
    tls = certificate or skips_verification(cluster) or any(
        cluster.fields.get(key) for key in CA_KEYS)
    return ("https://" if tls else "http://") + server
