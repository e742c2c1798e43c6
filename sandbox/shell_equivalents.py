"""The plain commands a user could type to do by hand what the sandbox just did."""

from __future__ import annotations

from sandbox.profiles import FIELD_MANAGER
from sandbox.scenarios import ResourceRef, WaitFor


def apply(yaml_text: str) -> str:
    """A heredoc the shell expands, so "$AGW_SANDBOX_TOKEN" stands where the key would."""
    return (f"kubectl apply --server-side --field-manager={FIELD_MANAGER} -f - <<EOF\n"
            f"{yaml_text.rstrip()}\nEOF")


def _resource(ref: ResourceRef) -> str:
    return f"{ref.kind.lower()}/{ref.name} -n {ref.namespace}"


def wait(wait_for: WaitFor) -> str:
    if wait_for.ref.kind == "HTTPRoute":
        return (f"kubectl get {_resource(wait_for.ref)} "
                "-o jsonpath='{.status.parents[*].conditions}'")
    lines = [f"kubectl wait {_resource(wait_for.ref)} --for=condition={c.type}={c.status} "
             f"--timeout={wait_for.timeout:g}s" for c in wait_for.conditions]
    return "\n".join(lines)


def delete(ref: ResourceRef) -> str:
    return f"kubectl delete {_resource(ref)} --ignore-not-found"
