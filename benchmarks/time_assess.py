"""Time ``Advisor.assess`` of whichever ``spasm_advisor`` is importable, for ``bench.py --baseline-ref``.

``bench.py`` runs this with a git ref's package first on ``PYTHONPATH``, so
that the release is timed as it was released (its engine and its rules) on
the same cases as this tree. Usage: ``python time_assess.py CASES.json``;
the first line written is the package's folder and rule count, then each
line read from standard input times every case once and answers with the
p50 in milliseconds.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path


def main(cases_file: str) -> None:
    import spasm_advisor
    from spasm_advisor import Advisor

    try:
        advisor = Advisor.default(sealed=False)  # files from git as they are: no manifest check
    except TypeError:
        advisor = Advisor.default()  # a release from before sealing
    cases = json.loads(Path(cases_file).read_text())
    for case in cases[:50]:
        advisor.assess(case)
    print(Path(spasm_advisor.__file__).parent, len(advisor.knowledge_base.rules), flush=True)
    clock = time.perf_counter
    for _ in sys.stdin:
        times = []
        for case in cases:
            start = clock()
            advisor.assess(case)
            times.append(clock() - start)
        print(statistics.median(times) * 1e3, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
