"""Write the JSON output of every bundled clinical case and example to a folder.

Run it before and after a change that must not alter behaviour, then compare
the folders (``diff -r``): the output contract of each case must be byte-identical.

    python scripts/snapshot_outputs.py /tmp/before
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spasm_advisor import Advisor
from spasm_advisor.kb.yamlfile import SCHEMA_CORE, load_yaml_text

REPO = Path(__file__).resolve().parent.parent


def main(out_dir: str) -> int:
    advisor = Advisor.default()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = sorted((REPO / "knowledge" / "cases").glob("*.yaml")) + sorted((REPO / "examples").glob("*.yaml"))
    for path in paths:
        # Read as assess reads a case: YAML 1.2 core schema.
        document = load_yaml_text(path.read_text(encoding="utf-8"), str(path), schema=SCHEMA_CORE)
        facts = document.get("case", document)
        result = advisor.assess(facts).to_dict()
        (out / f"{path.name}.json").write_text(json.dumps(result, sort_keys=True, indent=1), encoding="utf-8")
    print(f"{len(paths)} outputs written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
