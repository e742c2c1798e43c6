"""The Kubernetes API, through the official client: server-side apply, status, delete, waits.

With client_config.py (the client built from a kubeconfig), the only module that imports
``kubernetes``. Calls block; runtimes run them in a daemon thread
(``stdio.in_thread``), so that a stop never waits for one. Results are our own small types, never
``V1...`` objects. What a call may take and what its answer must be is api_call.py; which files a
kubeconfig may make the client read, kubeconfig.py; exec credential plugins, exec_plugin.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from sandbox import stdio
from sandbox.errors import NotOurs, RuntimeUnavailable, WaitTimeout
from sandbox.polling import Deadline, poll
from sandbox.profiles import FIELD_MANAGER
from sandbox.runtimes.kube import api_call
from sandbox.runtimes.kube.client_config import api_client
from sandbox.runtimes.kube.kinds import Kinds, Resource
from sandbox.runtimes.kube.ownership import created_by_us, owner_of
from sandbox.runtimes.kube.rollout import Rollout, refusal_hint, rollout_of
from sandbox.runtimes.kube.secrets import Secrets, shown_url
from sandbox.runtimes.runtime import Applied, ResourceRef, ResourceStatus, conditions_of

DELETE_TIMEOUT = 60.0
# A pod creation refused this long is not the short wait for a new namespace's
# ServiceAccount: it is a policy (Pod Security, a quota) that waiting will not change.
REFUSAL_GRACE = 10.0
FIRST_CALL_TIMEOUT = 5.0
# Seconds for a whole call, its answer read to the end: a read, and a change (an apply of a CRD
# with a large schema goes through admission, and its whole object comes back).
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0


class Kube:
    """A client for one cluster, built from an explicit kubeconfig file and context.

    With ``owned_only`` (a cluster someone else also uses) it refuses to overwrite or delete
    an object that exists and was not created by the sandbox. ``secrets`` (secrets.py) are
    masked in every answer and every error.
    """

    def __init__(self, api_client: Any, controller: str = "", owned_only: bool = False,
                 secrets: Secrets | None = None, trust: str = "") -> None:
        self.api = api_client
        # what the server's certificate is checked against, for a message saying it is not
        self.trust = trust or "the certificate authorities this machine trusts"
        self.controller = controller
        self.owned_only = owned_only
        self.secrets = secrets or Secrets()
        self.secrets.add_url(str(api_client.configuration.host))
        self.kinds = Kinds(lambda path: self.request("GET", path))

    @classmethod
    async def open(cls, kubeconfig: str | None, context: str | None, controller: str = "",
                   owned_only: bool = False, secrets: Iterable[str] = ()) -> Kube:
        """The client for a context, built in a thread: a stop ends the wait at once, and an
        exec plugin runs on this loop, so that the stop reaches it too. ``secrets`` (the
        sandbox's key) are masked with the kubeconfig's own."""
        loop, known = asyncio.get_running_loop(), Secrets(secrets)
        api, trust = await stdio.in_thread(api_client, kubeconfig, context, loop, known)
        return cls(api, controller, owned_only, known, trust)

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None, controller: str = "",
                owned_only: bool = False) -> Kube:
        """:meth:`open`, for blocking code (tests, tools)."""
        known = Secrets()
        api, trust = api_client(kubeconfig, context, None, known)
        return cls(api, controller, owned_only, known, trust)

    @classmethod
    def for_url(cls, url: str, controller: str = "", owned_only: bool = False) -> Kube:
        """A client for an API server that needs no credentials (tests, local proxies)."""
        from kubernetes.client import ApiClient, Configuration

        configuration = Configuration()
        configuration.host = url
        return cls(ApiClient(configuration), controller, owned_only)

    @property
    def host(self) -> str:
        """The API server's URL as messages name it (without a user and password)."""
        return shown_url(str(self.api.configuration.host))

    # -- raw requests ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None,
                query: Mapping[str, str] | None = None, content_type: str = "application/json",
                timeout: float | None = None) -> tuple[int, dict[str, Any]]:
        """One call, within ``timeout`` seconds for the whole answer (by default
        :data:`READ_TIMEOUT` for a GET, :data:`WRITE_TIMEOUT` for a change); api_call.py says
        what an answer must be. Never retried: a retry is the caller's decision. The answer
        and any error come with every secret masked: nothing read from here prints one."""
        headers = {"Accept": "application/json", "Content-Type": content_type,
                   "User-Agent": "agw-sandbox"}
        with self.secrets.masking():
            # auth_settings() renews an expired credential first (the loader's refresh hook)
            for setting in self.api.configuration.auth_settings().values():
                if setting.get("in") == "header" and setting.get("value"):
                    headers[setting["key"]] = setting["value"]
                    self.secrets.add_header(str(setting["value"]))
            url = (str(self.api.configuration.host) + path
                   + (f"?{urlencode(query)}" if query else ""))
            status, data = api_call.call(
                self.api.rest_client.pool_manager, self.host, method, url, headers,
                None if body is None else json.dumps(body).encode(),
                timeout or (READ_TIMEOUT if method == "GET" else WRITE_TIMEOUT),
                self.secrets.cut, self.trust)
        return status, self.secrets.values(data)

    # -- resources ------------------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._fetch(self.kinds.of_kind(kind), kind, namespace, name)

    def _fetch(self, resource: Resource, kind: str, namespace: str, name: str
               ) -> dict[str, Any] | None:
        path = resource.path(namespace, name)
        status, data = self.request("GET", path)
        if status == 404:
            return None
        api_call.check(status, data, f"read {kind} {namespace}/{name}")
        return api_call.expect(self.host, "GET", path, data, kind)

    def list(self, kind: str, labels: Mapping[str, str],
             namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kind`` that carries all of ``labels``, in ``namespace`` or in any."""
        selector = ",".join(f"{key}={value}" for key, value in labels.items())
        path = self.kinds.of_kind(kind).path(namespace)
        status, data = self.request("GET", path, query={"labelSelector": selector})
        api_call.check(status, data, f"list {kind} objects labelled {selector}")
        api_call.expect(self.host, "GET", path, data, f"{kind}List")
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
        path = resource.path(namespace, name)
        status, data = self.request(
            "PATCH", path, body=dict(doc),
            query={"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"},
            content_type="application/apply-patch+yaml")
        api_call.check(status, data, f"apply {kind} {namespace}/{name}", applies=True)
        api_call.expect(self.host, "PATCH", path, data, kind)
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
        api_call.check(status, data, f"delete {kind} {namespace}/{name}")
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
                                  refusal_hint(state.refused, namespace, name))
            return state.detail if state.done else None

        def timed_out() -> WaitTimeout:
            state = seen[0]
            if state.refused is not None:
                return WaitTimeout(f"{where} not ready after {timeout:g}s ({state.detail}; its "
                                   f"pods cannot be created: {state.refused})",
                                   refusal_hint(state.refused, namespace, name))
            return WaitTimeout(
                f"{where} not ready after {timeout:g}s ({state.detail})",
                f"look at `kubectl -n {namespace} describe deployment/{name}` and its pods' "
                "events (image pulls are the usual cause)")

        return poll(rolled_out, Deadline(timeout, interval, ceiling=interval), timed_out)

    def server_version(self) -> str:
        """The first call to a cluster: it fails in seconds if the server does not answer."""
        status, data = self.request("GET", "/version", timeout=FIRST_CALL_TIMEOUT)
        if status == 404:  # every API server answers /version: the address is not one's
            raise RuntimeUnavailable(
                f"the address {self.host} answers 404 (not found) to /version, which every "
                "Kubernetes API server answers",
                "is the path right? The server of this context's cluster in the kubeconfig is "
                "the API server's address (with the path of a proxy in front of it, such as "
                "Rancher's /k8s/clusters/ID); `kubectl cluster-info` with the same context "
                "asks it")
        api_call.check(status, data, "read the server version")
        return str(data.get("gitVersion", "?"))


def _terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _content(obj: Mapping[str, Any]) -> Any:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
