"""Record the real API server's words on each CEL library call (tests/data/cel_library.json).

    python -m tests.tier.record_cel_library [--kubeconfig FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sandbox.runtimes.kube.client import Kube
from tests.cel_library_cases import EXPRESSIONS, RECORD, calls
from tests.conftest import REPO
from tests.tier.apiserver import ApiServer
from tests.tier.test_cel_library import ask, install_library

PROFILE = "kgateway-v2.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, help="a tier already up (left running)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "tools"))
    import tier

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = args.kubeconfig or Path(tmp) / "kubeconfig"
        info = tier.up(PROFILE, kubeconfig, log=lambda line: None)
        try:
            server = ApiServer(PROFILE, info, Kube.connect(str(info.kubeconfig), info.context))
            install_library(server)
            words = {key: ask(server, doc) for index in range(len(EXPRESSIONS))
                     for key, doc in calls(index)}
        finally:
            if args.kubeconfig is None:
                tier.down(info.kubeconfig)
    RECORD.write_text(json.dumps(words, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"recorded the API server's words on {len(words)} CEL library calls in "
          f"{RECORD.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
