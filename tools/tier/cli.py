"""The command line of tools/upstream-tier: build, up, down, status, gomod, probe."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import controlplane, gobuild, gomod, overview, pins, probe, stopping
from .errors import TierError

DESCRIPTION = """\
A real etcd and kube-apiserver, built from their Go modules at the pinned versions
(tools/tier/pins.json) and started on 127.0.0.1 with a profile's CRDs installed.
Optional: it needs Go; nothing else in agw-sandbox needs it. See tools/tier/README.md."""


def parser() -> argparse.ArgumentParser:
    names = list(pins.profiles())
    top = argparse.ArgumentParser(prog="tools/upstream-tier", description=DESCRIPTION,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the binaries that are missing (idempotent)")
    build.add_argument("--profile", choices=names, help="both profiles use the same binaries")
    build.add_argument("--component", choices=list(pins.components()), help="build only this one")
    up = sub.add_parser("up", help="start etcd and kube-apiserver for a profile")
    up.add_argument("--profile", choices=names, required=True)
    up.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig to write")
    up.add_argument("--crds", type=Path, help=f"CRD bundles folder (default {pins.DEFAULT_CRDS})")
    down = sub.add_parser("down", help="stop what up started for a kubeconfig, remove its files")
    down.add_argument("--kubeconfig", type=Path, required=True)
    status = sub.add_parser("status", help="what runs, for every kubeconfig or for one")
    status.add_argument("--kubeconfig", type=Path)
    sub.add_parser("gomod", help="regenerate the wrapper go.mod files from pins.json")
    check = sub.add_parser("probe", help="ask the Go module proxy which pinned modules it serves")
    check.add_argument("--out", type=Path, help="write the full table (TSV) here")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except TierError as exc:
        print(f"upstream-tier: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("upstream-tier: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # the reader (head, less) went away: nothing left to say


def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "build":
        _build(args.profile, args.component)
    elif command == "up":
        info = controlplane.up(args.profile, args.kubeconfig, args.crds, log=_say)
        _say("\n".join(overview.describe(info)))
    elif command == "down":
        for line in stopping.down(args.kubeconfig):
            _say(line)
    elif command == "status":
        lines = overview.status(args.kubeconfig)
        _say("\n".join(lines) if lines else "no upstream tier is running")
    elif command == "gomod":
        for component in pins.components().values():
            gomod.generate(component)
            _say(f"wrote {component.wrapper / 'go.mod'} and go.sum")
    elif command == "probe":
        return probe.main(args.out, log=_say)
    return 0


def _build(profile: str | None, component: str | None) -> None:
    results = gobuild.build(profile, only=component, log=_say)
    fresh = [r for r in results if not r.cached]
    for r in results:
        state = "cached" if r.cached else f"built in {r.seconds:.0f} s"
        _say(f"{r.component:15} {r.version:9} {r.size / 2**20:6.1f} MiB  {state}  {r.path}")
    if not fresh:
        _say("all binaries are cached: nothing to build")


def _say(text: str) -> None:
    print(text, flush=True)
