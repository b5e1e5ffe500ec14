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
    explain = commands.add_parser("explain", help="the derivation tree of a case's triage and advice")
    explain.add_argument("case", metavar="CASE", help="case file, or '-' for stdin")
    explain.add_argument("--json", action="store_true", help="print the tree as JSON")
    _add_kb_options(explain)

    why_not = commands.add_parser("why-not", help="why a case did not get a recommendation")
    why_not.add_argument("case", metavar="CASE", help="case file, or '-' for stdin")
    why_not.add_argument("rec_id", metavar="REC_ID", help="a recommendation id from the catalogue")
    why_not.add_argument("--json", action="store_true", help="print the answer as JSON")
    _add_kb_options(why_not)

    rules = commands.add_parser("rules", help="inspect, verify, report on and compare rule bases")
    sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", parser_class=_Parser)
    listing = sub.add_parser("list", help="list rules, optionally filtered")
    listing.add_argument("--category", help="rules whose conclusions fall in this category (relief, therapy, referral, triage, finding, withhold, caution) or whose file is named so")
    listing.add_argument("--source", help="rules citing this source id")
    listing.add_argument("--fact", help="rules reading this fact or finding")
    listing.add_argument("--status", help="rules with this provenance status (testing, production, research, expired)")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    _add_kb_options(listing)
    show = sub.add_parser("show", help="one rule as written, its provenance and dependencies")
    show.add_argument("rule_id", metavar="RULE_ID")
    show.add_argument("--json", action="store_true", help="print as JSON")
    _add_kb_options(show)
    verify = sub.add_parser("verify", help="anomaly checks and proofs of the invariants over every case")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_kb_options(verify)
    report = sub.add_parser("report", help="a self-contained audit report (HTML or Markdown)")
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="where to write the report")
    report.add_argument("--format", choices=["html", "md"], default="html", help="report format")
    _add_kb_options(report)
    diff = sub.add_parser("diff", help="what changes between two knowledge bases, for every case")
    diff.add_argument("old", metavar="OLD_DIR", help="folder holding rules/ and knowledge/ of the old version")
    diff.add_argument("new", metavar="NEW_DIR", help="folder holding rules/ and knowledge/ of the new version")
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")


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


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _assess_case_arg(args: argparse.Namespace) -> tuple[Advisor, object]:
    advisor = _load_advisor(args)
    source = "<stdin>" if args.case == "-" else args.case
    return advisor, advisor.case(_read_case(args.case), source=source)


def _cmd_explain(args: argparse.Namespace) -> int:
    from engine.explain import render_explanation

    advisor, case = _assess_case_arg(args)
    assessment = advisor.assess(case)  # type: ignore[arg-type]
    if args.json:
        _print_json(assessment.explain())
    else:
        sys.stdout.write(render_explanation(assessment))
    return EXIT_OK


def _cmd_why_not(args: argparse.Namespace) -> int:
    from engine.whynot import render_why_not, why_not

    advisor, case = _assess_case_arg(args)
    answer = why_not(advisor, case, args.rec_id)
    if args.json:
        _print_json(answer.to_dict())
    else:
        sys.stdout.write(render_why_not(answer))
    return EXIT_OK


def _require_audit_extra() -> None:
    try:
        import z3  # noqa: F401
    except ImportError as exc:
        raise UsageError("this command needs the audit extra: pip install 'spasm-advisor[audit]'") from exc


def _cmd_rules(args: argparse.Namespace) -> int:
    from engine import rule_catalogue

    command = args.rules_command
    if command is None:
        raise UsageError("rules needs a subcommand: list, show, verify, report or diff")
    if command == "diff":
        _require_audit_extra()
        from engine import Advisor
        from engine.diff import diff_knowledge_bases, render_diff

        old = Advisor.from_paths(Path(args.old) / "rules", Path(args.old) / "knowledge")
        new = Advisor.from_paths(Path(args.new) / "rules", Path(args.new) / "knowledge")
        result = diff_knowledge_bases(old, new)
        if args.json:
            _print_json(result.to_dict())
        else:
            sys.stdout.write(render_diff(result))
        return EXIT_FINDINGS if result.behaviour_changed else EXIT_OK
    advisor = _load_advisor(args)
    kb = advisor.knowledge_base
    if command == "list":
        rows = rule_catalogue.filter_rules(kb, category=args.category, source=args.source, fact=args.fact, status=args.status)
        if args.json:
            _print_json([rule_catalogue.rule_summary(kb, r) for r in rows])
        else:
            sys.stdout.write(rule_catalogue.render_list(rows))
        return EXIT_OK
    if command == "show":
        rule = rule_catalogue.find_rule(kb, args.rule_id)
        if args.json:
            _print_json(rule_catalogue.rule_details(kb, rule))
        else:
            sys.stdout.write(rule_catalogue.render_rule(kb, rule))
        return EXIT_OK
    _require_audit_extra()
    if command == "verify":
        from engine.verify import render_verification, verify

        report = verify(advisor)
        if args.json:
            _print_json(report.to_dict())
        else:
            sys.stdout.write(render_verification(report))
        return EXIT_OK if report.ok else EXIT_FINDINGS
    from engine.audit_report import build_audit, render_html, render_markdown
    from engine.clinical_cases import load_clinical_cases
    from engine.resources import bundled_knowledge_dir

    folder = Path(args.knowledge) / "cases" if args.knowledge else bundled_knowledge_dir() / "cases"
    cases = load_clinical_cases(folder, "knowledge/cases") if folder.is_dir() else []
    audit = build_audit(advisor, cases)
    text = render_html(audit) if args.format == "html" else render_markdown(audit)
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror}") from exc
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


_COMMANDS = {
    "assess": _cmd_assess,
    "cases": _cmd_cases,
    "explain": _cmd_explain,
    "why-not": _cmd_why_not,
    "rules": _cmd_rules,
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
