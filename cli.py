"""Command line of Spasm Advisor: ``spasm-advisor``.

User errors (bad case, broken knowledge base, wrong arguments) print one line
on stderr and exit 2; tracebacks appear only with ``--debug``. This module is
the only place that prints or configures logging.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from engine import Advisor

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
VERSION = "0.1.0"


class UsageError(Exception):
    """A problem with how the command was called: exit 2, one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (try '{self.prog} --help')")


def _add_kb_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", metavar="DIR", help="rules folder of another knowledge base")
    parser.add_argument("--knowledge", metavar="DIR", help="knowledge folder of another knowledge base")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(prog="spasm-advisor", description="Triage and explained advice for back muscle spasm.")
    parser.add_argument("--version", action="version", version=f"spasm-advisor {VERSION}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    assess = commands.add_parser("assess", help="assess a case file (JSON or YAML; '-' for stdin)")
    assess.add_argument("case", metavar="CASE", help="case file, or '-' to read standard input")
    output = assess.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the assessment as JSON")
    output.add_argument("--format", choices=["text", "json", "cds-hooks"], default=None, help="output format")
    _add_kb_options(assess)

    cases = commands.add_parser("cases", help="run clinical test cases and report every difference")
    cases.add_argument("folder", metavar="DIR", nargs="?", help="folder of case files (default: the bundled cases)")
    _add_kb_options(cases)

    # Further commands register here, one call each.
    _add_audit_parsers(commands)
    _add_batch_parsers(commands)
    _add_interview_parsers(commands)
    return parser


def _add_audit_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """explain, why-not and rules (list, show, verify, report, diff)."""


def _add_batch_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """batch."""


def _add_interview_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """interview and schema."""


def _load_advisor(args: argparse.Namespace) -> Advisor:
    from engine import Advisor

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    if args.rules:
        return Advisor.from_paths(Path(args.rules), Path(args.knowledge))
    return Advisor.default()


def _read_case(name: str) -> object:
    from engine.caseio import parse_case_text
    from engine.errors import CaseError, CaseProblem

    if name == "-":
        return parse_case_text(sys.stdin.buffer.read(), "<stdin>")
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError([CaseProblem("", f"cannot read case file: {exc.strerror or exc}")], source=name) from exc
    return parse_case_text(data, name)


def _cmd_assess(args: argparse.Namespace) -> int:
    advisor = _load_advisor(args)
    source = "<stdin>" if args.case == "-" else args.case
    assessment = advisor.assess(advisor.case(_read_case(args.case), source=source))
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        print(assessment.to_json())
    elif fmt == "cds-hooks":
        from engine.cds_hooks import to_cds_hooks

        print(json.dumps(to_cds_hooks(assessment, advisor.knowledge_base), indent=2, ensure_ascii=False))
    else:
        from engine.report import render_text

        sys.stdout.write(render_text(assessment))
    return EXIT_OK


def _cmd_cases(args: argparse.Namespace) -> int:
    from engine.clinical_cases import check_case, load_clinical_cases
    from engine.resources import bundled_knowledge_dir

    advisor = _load_advisor(args)
    if args.folder:
        cases = load_clinical_cases(Path(args.folder))
    elif args.knowledge:
        cases = load_clinical_cases(Path(args.knowledge) / "cases")
    else:
        cases = load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases")
    failed = 0
    for case in cases:
        problems = check_case(advisor, case)
        status = "FAIL" if problems else "ok"
        print(f"{status:4} {case.id}: {case.title}")
        for problem in problems:
            print(f"       - {problem}")
        failed += bool(problems)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return EXIT_FINDINGS if failed else EXIT_OK


_COMMANDS = {
    "assess": _cmd_assess,
    "cases": _cmd_cases,
    # audit commands
    # batch commands
    # interview commands
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"spasm-advisor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("spasm-advisor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        from engine.errors import EngineError

        if debug:
            raise
        if isinstance(exc, EngineError):
            print(f"spasm-advisor: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"spasm-advisor: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
