"""Record the real API server's words on the admission cases (tests/data/admission_words.json).

    python -m tests.tier.record_admission_words

Starts both profiles' tiers (tools/upstream-tier), sends each case of
tests/unit/test_admission_words.py as a server-side apply dry run and keeps the Status message
(null: admitted). Where Go's map order makes the text vary, any one of its texts is kept.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from sandbox.runtimes.kube.client import Kube
from tests.conftest import REPO
from tests.tier.apiserver import ApiServer
from tests.unit.test_admission_words import CASES, RECORD


def main() -> int:
    sys.path.insert(0, str(REPO / "tools"))
    import tier

    messages: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for profile in sorted({case.profile for case in CASES}):
            kubeconfig = Path(tmp) / profile
            info = tier.up(profile, kubeconfig, log=lambda line: None)
            try:
                server = ApiServer(profile, info, Kube.connect(str(kubeconfig), info.context))
                for namespace in ("kgateway-system", "agentgateway-system"):
                    server.apply({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": namespace}})
                for case in CASES:
                    if case.profile == profile:
                        messages[case.name] = server.dry_run_apply(case.doc)
            finally:
                tier.down(kubeconfig)
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(messages, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"recorded the API server's words on {len(messages)} cases in "
          f"{RECORD.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
