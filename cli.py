"""Run the command line from a checkout: ``python cli.py assess examples/desk_worker.yaml``.

The command line itself is :mod:`spasm_advisor.cli` (``engine/cli.py``); the
installed console script ``spasm-advisor`` runs the same function.
"""

import sys

try:
    from spasm_advisor.cli import main
except ModuleNotFoundError as exc:  # pragma: no cover - only without an install
    if exc.name != "spasm_advisor":
        raise
    sys.exit("spasm_advisor is not installed: run `pip install -e .` in this checkout first")

if __name__ == "__main__":
    sys.exit(main())
