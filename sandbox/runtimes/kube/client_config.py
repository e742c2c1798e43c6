"""Building the kubernetes client from a kubeconfig: the client's own loader, except that every
file an entry names is checked before it is read (kubeconfig.py), an exec plugin runs with a
deadline through sandbox.proc (exec_plugin.py), and every credential is known to ``Secrets``.

With client.py, the only module that imports ``kubernetes``.
"""

from __future__ import annotations

import asyncio
import copy
import os
import warnings
from pathlib import Path
from typing import IO, Any

from sandbox import stdio
from sandbox.errors import SandboxError
from sandbox.runtimes.kube.exec_plugin import Plugin
from sandbox.runtimes.kube.kubeconfig import (
    CLUSTER_FILES,
    USER_FILES,
    Entry,
    check_id_token,
    check_kubeconfig,
    expired_oidc,
    folder_of,
    kubeconfig_problem,
    refuse_removed_providers,
    user_token,
)
from sandbox.runtimes.kube.kubeconfig_types import check_context_entries, check_text_values
from sandbox.runtimes.kube.kubeconfig_values import (
    check_data,
    check_pem_files,
    check_server,
    check_server_characters,
    check_tls_choice,
    skips_verification,
    trusted_by,
    with_scheme,
)
from sandbox.runtimes.kube.secrets import Secrets


def api_client(kubeconfig: str | None, context: str | None,
                loop: asyncio.AbstractEventLoop | None, secrets: Secrets) -> tuple[Any, str]:
    """What ``new_client_from_config`` builds, through :func:`checked_loader`, and what the
    server's certificate is checked against, in words; the kubeconfig's credentials are added
    to ``secrets``, and masked in what it raises."""
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import ConfigException

    check_kubeconfig(kubeconfig)  # a FIFO would block the client's open() for ever
    merged = None
    with secrets.masking():
        try:
            merged = linear_merger(kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config")
            if merged.config is None:
                raise ConfigException("Invalid kube-config file. No configuration found.")
            secrets.add_kubeconfig(merged.config.value)
            configuration = type.__call__(Configuration)  # as the client's own loader makes it
            loader = checked_loader(merged.config, context, loop, secrets)
            loader.load_and_set(configuration)
            cluster = loader.entries()[0]
            trust = trusted_by(cluster)
            if skips_verification(cluster) and str(configuration.host).startswith("https"):
                say_unverified(cluster)
        except SandboxError:
            raise
        except Exception as exc:  # the file is the user's: any shape reaches its parser
            raise kubeconfig_problem(exc, kubeconfig, context, isinstance(exc, ConfigException),
                                     context_names(merged)) from exc
    return ApiClient(configuration=configuration), trust


def linear_merger(paths: str) -> Any:
    """The client's KubeConfigMerger of the files in ``paths``, in time linear in their entries:
    the client looks for each entry's name among all those merged before it (20 000 contexts
    took minutes). As there, the first entry of a name wins, as client-go's merge keeps it."""
    from kubernetes.config import ConfigException
    from kubernetes.config.kube_config import ConfigNode, KubeConfigMerger

    class LinearMerger(KubeConfigMerger):
        config_merged: Any
        config_files: dict[str, Any]
        _names: dict[str, FirstNames]

        def load_config(self, path: str) -> None:
            """The client's, parsed by libyaml where it can be (see :func:`parsed`)."""
            with Path(path).open() as file:
                config = parsed(file)
            if config is None:
                raise ConfigException(f"Invalid kube-config. {path} file is empty")
            if self.config_merged is None:
                merged = copy.deepcopy(config)
                merged.update({item: [] for item in ("clusters", "contexts", "users")})
                self.config_merged = ConfigNode(path, merged, path)  # type: ignore[no-untyped-call]
            for item in ("clusters", "contexts", "users"):
                self._merge(item, config.get(item, []) or [], path)
            if "current-context" in config:
                self.config_merged.value["current-context"] = config["current-context"]
            self.config_files[path] = config

        def _merge(self, item: str, add_cfg: Any, path: str) -> None:
            names = self.__dict__.setdefault("_names", {}).setdefault(item, FirstNames())
            for new_item in add_cfg:
                if names.first(new_item["name"]):
                    self.config_merged.value[item].append(ConfigNode(  # type: ignore[no-untyped-call]
                        f"{path}/{new_item}", new_item, path))

    return LinearMerger(paths)  # type: ignore[no-untyped-call]


# Deeper than any kubeconfig: such a file is left to the pure-Python parser, whose words say it is
# nested too deeply (libyaml's composer would recurse in C).
MAX_FAST_DEPTH = 64


def parsed(file: IO[str]) -> Any:
    """``yaml.safe_load(file)``, about ten times faster through libyaml (20 000 contexts: seconds);
    a text libyaml refuses, or nested deeper than :data:`MAX_FAST_DEPTH`, goes to the pure-Python
    parser, whose errors (naming the file) the messages quote."""
    import yaml

    text = file.read()
    opens, closes = (yaml.MappingStartEvent, yaml.SequenceStartEvent), \
        (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    if getattr(yaml, "__with_libyaml__", False):
        try:
            depth = 0
            for event in yaml.parse(text, Loader=yaml.CSafeLoader):
                depth += isinstance(event, opens) - isinstance(event, closes)
                if depth > MAX_FAST_DEPTH:
                    raise yaml.YAMLError("deep")
            return yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            file.seek(0)
    return yaml.safe_load(file)


def context_names(merged: Any) -> list[str]:
    """The names of the contexts a merged kubeconfig holds, in its order."""
    config = getattr(merged, "config", None)
    contexts = config.value.get("contexts") if config is not None else None
    return [str(node.value.get("name")) for node in contexts or []
            if isinstance(getattr(node, "value", None), dict)]


class FirstNames:
    """The names seen so far, each found in constant time (one that is no string, a list or a
    mapping that YAML allows as a name, by a scan of the few such)."""

    def __init__(self) -> None:
        self._hashable: set[Any] = set()
        self._other: list[Any] = []

    def first(self, name: Any) -> bool:
        """Whether ``name`` is seen for the first time (it is remembered)."""
        try:
            if name in self._hashable:
                return False
            self._hashable.add(name)
            return True
        except TypeError:
            if name in self._other:
                return False
            self._other.append(name)
            return True


_SAID_UNVERIFIED: set[tuple[str, str]] = set()


def say_unverified(cluster: Entry) -> None:
    """Say once, in the sandbox's words, that the server's certificate is not checked, and keep
    urllib3 from saying it again at every request (InsecureRequestWarning)."""
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    if (cluster.source, cluster.name) in _SAID_UNVERIFIED:
        return
    _SAID_UNVERIFIED.add((cluster.source, cluster.name))
    stdio.say(f"agw-sandbox: the kubeconfig {cluster.source} skips TLS verification for "
              f"cluster {cluster.name!r} (insecure-skip-tls-verify): the API server's "
              "certificate is not checked")


def checked_loader(config: Any, context: str | None, loop: asyncio.AbstractEventLoop | None,
                    secrets: Secrets) -> Any:
    """The kubernetes client's kubeconfig loader, except that every file the context's entries
    name is checked before it is read (kubeconfig.py), and an exec plugin runs with a deadline
    through sandbox.proc (exec_plugin.py), now and whenever its credential has expired."""
    from kubernetes.config import ConfigException
    from kubernetes.config.kube_config import FileOrData, KubeConfigLoader

    def written(content: str) -> str:  # a temporary file, as the client's loader writes one
        return str(FileOrData({"data": content}, None, "data",  # type: ignore[no-untyped-call]
                              base64_file_content=False).as_file())

    class CheckedLoader(KubeConfigLoader):
        _config: Any
        _current_context: Any
        _cluster: Any
        _user: Any

        def set_active_context(self, context_name: str | None = None) -> None:
            """The client's, except that a context naming a user or a cluster the kubeconfig
            does not hold is refused as kubectl refuses it (the client would go on without
            credentials, or quote its own words)."""
            self._current_context = None
            try:
                super().set_active_context(context_name)  # type: ignore[no-untyped-call]
            except ConfigException:
                if self._current_context is not None:
                    check_context_entries(self._config, self._current_context, "cluster")
                raise
            check_context_entries(self._config, self._current_context, "user")

        def load_and_set(self, configuration: Any) -> None:
            cluster, user = self.entries()
            for entry in (cluster, user):
                if entry is not None:  # before anything reads them
                    check_text_values(entry)
            check_server_characters(cluster)  # where the kubeconfig has it, before completing
            completed = with_scheme(cluster, user)
            if completed is not None:  # as client-go reads it (urllib3 would warn, then guess)
                self._cluster.value["server"] = completed
                cluster, user = self.entries()
            check_server(cluster)
            check_tls_choice(cluster)
            https = str(cluster.fields.get("server", "")).startswith("https")
            if https:  # the client reads certificates only for https, as the loader does
                cluster.check_files(CLUSTER_FILES)
                check_data(cluster)
                check_pem_files(cluster)
            if user is not None:
                refuse_removed_providers(user)
                if https:  # the client takes these two from the cluster's folder
                    in_cluster_folder = Entry(user.kind, user.name, user.fields, user.source,
                                              cluster.folder)
                    in_cluster_folder.check_files(USER_FILES[:2])
                    check_data(user)
                    check_pem_files(in_cluster_folder)
                user.check_files(USER_FILES[2:])
            super().load_and_set(configuration)  # type: ignore[no-untyped-call]

        def entries(self) -> tuple[Entry, Entry | None]:
            names = self._current_context["context"]
            cluster = Entry("cluster", str(names["cluster"]), self._cluster.value,
                            str(self._cluster.path), folder_of(self._cluster.path))
            if self._user is None:
                return cluster, None
            return cluster, Entry("user", str(names["user"]), self._user.value,
                                  str(self._user.path), folder_of(self._user.path))

        def _load_from_exec_plugin(self) -> bool | None:
            cluster, user = self.entries()
            if user is None or "exec" not in user.fields:
                return None
            got = Plugin.of(user.fields["exec"], user.folder,
                            f"{user.kind} {user.name!r} in the kubeconfig {user.source}",
                            cluster.fields).obtain(loop)
            secrets.add(got.token)
            secrets.add(got.key)
            if got.token:
                self.token = f"Bearer {got.token}"
            else:
                self.cert_file, self.key_file = written(got.certificate), written(got.key)
            if got.expires is not None:
                self.expiry = got.expires
            return True

        def _load_user_token(self) -> bool | None:
            _, user = self.entries()
            token = user_token(user) if user is not None else None
            if token is None:
                return None
            secrets.add(token)  # a tokenFile's: the kubeconfig itself does not hold it
            self.token = f"Bearer {token}"
            return True

        def _load_oid_token(self, provider: Any) -> Any:
            _, user = self.entries()
            assert user is not None
            # else the client would send nothing, silently (``provider`` is its ConfigNode)
            check_id_token(user, getattr(provider, "value", provider))
            return super()._load_oid_token(provider)  # type: ignore[no-untyped-call]

        def _refresh_oidc(self, provider: Any) -> None:
            _, user = self.entries()
            assert user is not None
            raise expired_oidc(user)  # the client would ask the issuer without a deadline

    return CheckedLoader(config_dict=config, active_context=context,  # type: ignore[no-untyped-call]
                         config_base_path=None)
