"""The Kubernetes API, through the official client: server-side apply, status, delete, waits.

Only this module imports ``kubernetes``. Calls block; runtimes run them in a thread. Results are
our own small types, never ``V1...`` objects.

Over 300 lines because it is the kubernetes client's only boundary: every call that library
makes for us (apply, get, delete and wait, ownership checks, kubeconfig errors) stays behind it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sandbox.errors import ManifestRejected, NotOurs, RuntimeUnavailable, WaitTimeout
from sandbox.polling import Deadline, poll
from sandbox.profiles import FIELD_MANAGER
from sandbox.runtimes.kube.kinds import Kinds, Resource
from sandbox.runtimes.kube.kubeconfig import check_kubeconfig
from sandbox.runtimes.kube.ownership import created_by_us, owner_of
from sandbox.runtimes.kube.rollout import Rollout, rollout_of
from sandbox.runtimes.runtime import Applied, ResourceRef, ResourceStatus, conditions_of

DELETE_TIMEOUT = 60.0
# A pod creation refused this long is not the short wait for a new namespace's
# ServiceAccount: it is a policy (Pod Security, a quota) that waiting will not change.
REFUSAL_GRACE = 10.0
FIRST_CALL_TIMEOUT = 5.0
# Server-side apply answers 500 when the manifest itself cannot be made into its type.
MANIFEST_FAULTS = ("failed to create typed patch object", "failed to convert new object")


class Kube:
    """A client for one cluster, built from an explicit kubeconfig file and context.

    With ``owned_only`` (a cluster someone else also uses) it refuses to overwrite or delete
    an object that exists and was not created by the sandbox.
    """

    def __init__(self, api_client: Any, controller: str = "", owned_only: bool = False) -> None:
        self.api = api_client
        self.controller = controller
        self.owned_only = owned_only
        self.kinds = Kinds(lambda path: self.request("GET", path))

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None, controller: str = "",
                owned_only: bool = False) -> Kube:
        from kubernetes.config import new_client_from_config

        check_kubeconfig(kubeconfig)  # a FIFO would block the client's open() for ever
        try:
            client = new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context,
                persist_config=False)
        except Exception as exc:  # the file is the user's: any shape reaches the client's parser
            raise kubeconfig_problem(exc, kubeconfig, context) from exc
        return cls(client, controller, owned_only)

    @classmethod
    def for_url(cls, url: str, controller: str = "", owned_only: bool = False) -> Kube:
        """A client for an API server that needs no credentials (tests, local proxies)."""
        from kubernetes.client import ApiClient, Configuration

        configuration = Configuration()
        configuration.host = url
        return cls(ApiClient(configuration), controller, owned_only)

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    # -- raw requests ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None,
                query: Mapping[str, str] | None = None, content_type: str = "application/json",
                timeout: float = 30.0, retries: bool = True) -> tuple[int, dict[str, Any]]:
        """``retries=False``: one attempt within ``timeout`` (the client's default retries a
        request that timed out three times, two minutes against a server that never answers)."""
        from urllib3 import Timeout
        from urllib3.exceptions import HTTPError
        from urllib3.exceptions import TimeoutError as TimedOut

        configuration = self.api.configuration
        if configuration.refresh_api_key_hook is not None:
            configuration.refresh_api_key_hook(configuration)
        headers = {"Accept": "application/json", "Content-Type": content_type,
                   "User-Agent": "agw-sandbox"}
        for setting in configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        url = self.host + path + (f"?{urlencode(query)}" if query else "")
        try:
            if retries:
                response = self.api.rest_client.request(method, url, headers=headers, body=body,
                                                        _request_timeout=timeout)
            else:  # a read: no body to encode
                response = self.api.rest_client.pool_manager.request(
                    method, url, headers=headers, timeout=Timeout(total=timeout), retries=False)
            raw = response.read() if response.data is None else response.data
        except TimedOut as exc:
            raise RuntimeUnavailable(
                f"the Kubernetes API at {self.host} did not answer within {timeout:g}s (timed "
                "out)", "is the cluster running and reachable from here (a VPN, a proxy)? "
                "`kubectl cluster-info` asks the same server") from exc
        except HTTPError as exc:
            raise RuntimeUnavailable(
                f"cannot reach the Kubernetes API at {self.host} ({type(exc).__name__})",
                "is the cluster running? `kubectl cluster-info` should answer") from exc
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {"message": raw.decode(errors="replace")[:300]}
        return int(response.status), data if isinstance(data, dict) else {"items": data}

    # -- resources ------------------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._fetch(self.kinds.of_kind(kind), kind, namespace, name)

    def _fetch(self, resource: Resource, kind: str, namespace: str, name: str
               ) -> dict[str, Any] | None:
        status, data = self.request("GET", resource.path(namespace, name))
        if status == 404:
            return None
        self._check(status, data, f"read {kind} {namespace}/{name}")
        return data

    def list(self, kind: str, labels: Mapping[str, str],
             namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kind`` that carries all of ``labels``, in ``namespace`` or in any."""
        selector = ",".join(f"{key}={value}" for key, value in labels.items())
        status, data = self.request("GET", self.kinds.of_kind(kind).path(namespace),
                                    query={"labelSelector": selector})
        self._check(status, data, f"list {kind} objects labelled {selector}")
        items = [item for item in data.get("items") or [] if isinstance(item, dict)]
        return [item for item in items if labels.items() <= (
            (item.get("metadata") or {}).get("labels") or {}).items()]

    def apply(self, doc: Mapping[str, Any], guard: bool = True) -> Applied:
        """Server-side apply with our field manager; says created/configured/unchanged.

        ``guard=False`` skips the ownership check for shared objects the user agreed to
        change (the Gateway API CRDs).
        """
        kind = str(doc.get("kind"))
        metadata = doc.get("metadata") or {}
        resource = self.kinds.of_manifest(str(doc.get("apiVersion", "")), kind,
                                          "namespace" in metadata)
        namespace = str(metadata.get("namespace") or "default") if resource.namespaced else ""
        name = str(metadata.get("name"))
        before = self._fetch(resource, kind, namespace, name)
        if guard:
            self._check_ours(before, kind, namespace, name, "overwrites")
        if before is not None and _terminating(before):
            # Applied now, it would be patched and then removed anyway: let it go first.
            self._wait_gone(resource, kind, namespace, name, DELETE_TIMEOUT)
            before = None
        status, data = self.request(
            "PATCH", resource.path(namespace, name), body=dict(doc),
            query={"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"},
            content_type="application/apply-patch+yaml")
        self._check(status, data, f"apply {kind} {namespace}/{name}")
        ref = ResourceRef(kind, name, namespace)
        if before is None:
            return Applied(ref, "created")
        unchanged = _content(before) == _content(data)
        return Applied(ref, "unchanged" if unchanged else "configured")

    def delete(self, kind: str, namespace: str, name: str,
               timeout: float = DELETE_TIMEOUT) -> bool:
        """Delete and wait until the object is gone, so the same name can be applied again.

        Background propagation: the object itself goes as soon as its finalizers allow, and
        the garbage collector removes what it owns afterwards.
        """
        resource = self.kinds.of_kind(kind)
        if self.owned_only:
            self._check_ours(self._fetch(resource, kind, namespace, name), kind, namespace, name,
                             "deletes")
        status, data = self.request("DELETE", resource.path(namespace, name),
                                    query={"propagationPolicy": "Background"})
        if status == 404:
            return False
        self._check(status, data, f"delete {kind} {namespace}/{name}")
        self._wait_gone(resource, kind, namespace, name, timeout)
        return True

    def _check_ours(self, obj: Mapping[str, Any] | None, kind: str, namespace: str, name: str,
                    verb: str) -> None:
        if not self.owned_only or obj is None or created_by_us(obj):
            return
        where = f"{namespace}/{name}" if namespace else name
        raise NotOurs(
            f"{kind} {where} already exists and belongs to {owner_of(obj)}, not to "
            f"agw-sandbox: the sandbox never {verb} what it did not create",
            "give the sandbox a namespace and Gateway of its own (--namespace NAME --gateway "
            "NAME), or remove that object yourself if it is yours to remove")

    def _wait_gone(self, resource: Resource, kind: str, namespace: str, name: str,
                   timeout: float) -> None:
        last: list[Mapping[str, Any]] = []

        def gone() -> bool | None:
            obj = self._fetch(resource, kind, namespace, name)
            if obj is None:
                return True
            last[:] = [obj]
            return None

        def timed_out() -> WaitTimeout:
            finalizers = (last[0].get("metadata") or {}).get("finalizers") or [] if last else []
            return WaitTimeout(
                f"{kind} {namespace}/{name} is still being deleted after {timeout:g}s"
                + (f" (finalizers: {', '.join(map(str, finalizers))})" if finalizers else ""),
                f"a finalizer holds it: look at `kubectl -n {namespace or 'default'} get "
                f"{resource.plural}/{name} -o yaml` and at the controller that owns the finalizer")

        poll(gone, Deadline(timeout), timed_out)

    def status(self, ref: ResourceRef) -> ResourceStatus:
        obj = self.get(ref.kind, ref.namespace, ref.name)
        if obj is None:
            return ResourceStatus(ref, exists=False)
        return ResourceStatus(ref, True, conditions_of(obj, self.controller))

    def deployment_ready(self, namespace: str, name: str) -> tuple[bool, str]:
        """Whether the newest generation has rolled out, in kubectl's words (rollout.py)."""
        obj = self.get("Deployment", namespace, name)
        if obj is None:
            return False, "not created yet"
        state = rollout_of(obj)
        return state.done, state.detail

    def wait_deployment(self, namespace: str, name: str, timeout: float,
                        interval: float = 1.0, refusal_grace: float = REFUSAL_GRACE) -> str:
        """Until rolled out; a refusal to create its pods that lasts ``refusal_grace`` seconds
        (or a passed progress deadline) ends the wait early, with the cluster's own reason."""
        where = f"deployment {namespace}/{name}"
        seen = [Rollout(False, "not read yet")]
        refused_since: list[float] = []

        def rolled_out() -> str | None:
            obj = self.get("Deployment", namespace, name)
            seen[0] = rollout_of(obj) if obj is not None else Rollout(False, "not created yet")
            state = seen[0]
            if state.deadline is not None:
                raise WaitTimeout(f"{where} exceeded its progress deadline: {state.deadline}",
                                  f"`kubectl -n {namespace} describe deployment/{name}` and "
                                  "its pods' events say what held it")
            if state.refused is None:
                refused_since.clear()
            elif not refused_since:
                refused_since.append(time.monotonic())
            elif time.monotonic() - refused_since[0] >= refusal_grace:
                raise WaitTimeout(f"{where} cannot create its pods: {state.refused}",
                                  _refusal_hint(state.refused, namespace, name))
            return state.detail if state.done else None

        def timed_out() -> WaitTimeout:
            state = seen[0]
            if state.refused is not None:
                return WaitTimeout(f"{where} not ready after {timeout:g}s ({state.detail}; its "
                                   f"pods cannot be created: {state.refused})",
                                   _refusal_hint(state.refused, namespace, name))
            return WaitTimeout(
                f"{where} not ready after {timeout:g}s ({state.detail})",
                f"look at `kubectl -n {namespace} describe deployment/{name}` and its pods' "
                "events (image pulls are the usual cause)")

        return poll(rolled_out, Deadline(timeout, interval, ceiling=interval), timed_out)

    def server_version(self) -> str:
        """The first call to a cluster: it fails in seconds if the server does not answer."""
        status, data = self.request("GET", "/version", timeout=FIRST_CALL_TIMEOUT, retries=False)
        self._check(status, data, "read the server version")
        return str(data.get("gitVersion", "?"))

    @staticmethod
    def _check(status: int, data: Mapping[str, Any], action: str) -> None:
        if 200 <= status < 300:
            return
        message = str(data.get("message") or data.get("reason") or f"HTTP {status}")
        if status == 500 and message.startswith(MANIFEST_FAULTS):  # server-side apply's 500s
            raise ManifestRejected(message, "a field name is misspelled or in the wrong place "
                                            "(names are case-sensitive), or a value has the "
                                            "wrong type")
        if status in (400, 409, 422):
            raise ManifestRejected(message, "fix the manifest and apply again")
        if status in (401, 403):
            raise RuntimeUnavailable(f"the cluster refused to {action}: {message}",
                                     "check your kubeconfig credentials and RBAC")
        if status == 404:
            raise ManifestRejected(f"cannot {action}: {message}",
                                   "are the CRDs installed? `agw-sandbox up` installs them")
        raise RuntimeUnavailable(f"the cluster failed to {action}: {message}",
                                 "retry; if it persists, check the API server")


def kubeconfig_problem(exc: Exception, kubeconfig: str | None,
                       context: str | None) -> RuntimeUnavailable:
    """Say which kubeconfig file is wrong and how, for whatever the kubernetes client raised."""
    from kubernetes.config import ConfigException

    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    where = path if kubeconfig or not os.environ.get("KUBECONFIG") else \
        f"{path} (from KUBECONFIG)"
    inspect = "`kubectl config view` shows what kubectl makes of it"
    text = str(exc)
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:  # a YAML syntax error
        problem = getattr(exc, "problem", None) or text.splitlines()[0]
        return RuntimeUnavailable(
            f"the kubeconfig {mark.name or where} is not valid YAML: {problem} "
            f"(line {mark.line + 1}, column {mark.column + 1})",
            f"fix that line, or point KUBECONFIG at another file; {inspect}")
    if isinstance(exc, UnicodeDecodeError):
        return RuntimeUnavailable(
            f"the kubeconfig {where} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start})",
            "is KUBECONFIG pointing at the right file? A kubeconfig is a YAML text file")
    if isinstance(exc, OSError):
        return RuntimeUnavailable(
            f"cannot read the kubeconfig {exc.filename or where}: {exc.strerror or exc}",
            "point KUBECONFIG at a readable kubeconfig file")
    if "No configuration found" in text:
        return RuntimeUnavailable(
            f"no kubeconfig found at {where}",
            "set KUBECONFIG to your kubeconfig file (or create ~/.kube/config); "
            "without a cluster, `--runtime sim` works offline")
    if "Expected object with name" in text and "contexts list" in text:
        return RuntimeUnavailable(
            f"there is no context {context!r} in the kubeconfig {where}",
            "`kubectl config get-contexts` lists them; pass one with --context NAME")
    if "Expected key current-context" in text:
        return RuntimeUnavailable(
            f"the kubeconfig {where} has no current context",
            "pass --context NAME, or choose one with `kubectl config use-context NAME`")
    if isinstance(exc, ConfigException):
        return RuntimeUnavailable(f"cannot use the kubeconfig {where}: {text}", inspect)
    return RuntimeUnavailable(
        f"the kubeconfig {where} does not have the shape of a kubeconfig (clusters, contexts "
        "and users must be lists of entries with a name)", inspect)


def _refusal_hint(refusal: str, namespace: str, name: str) -> str:
    if "PodSecurity" in refusal:
        return (f"the namespace {namespace} enforces a Pod Security level these pods do not meet: "
                f"`kubectl get namespace {namespace} --show-labels` shows it "
                "(pod-security.kubernetes.io/enforce)")
    return (f"`kubectl -n {namespace} describe deployment/{name}` and its ReplicaSet's events say "
            "why (a quota, an admission policy, a ServiceAccount that does not exist)")


def _terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _content(obj: Mapping[str, Any]) -> Any:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
