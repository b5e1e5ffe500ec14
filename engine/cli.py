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
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from spasm_advisor import Advisor

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


def _add_audit_parsers(commands: argparse._SubParsersAction[Any]) -> None:
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
    listing.add_argument(
        "--category",
        help=(
            "rules concluding in this category (relief, therapy, referral, triage, finding, withhold, "
            "caution), or defined in the rule file of that name"
        ),
    )
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


def _add_batch_parsers(commands: argparse._SubParsersAction[Any]) -> None:
    """Batch."""
    batch = commands.add_parser(
        "batch", help="assess every case of a JSON Lines or CSV file; one output record per input record"
    )
    batch.add_argument(
        "input",
        metavar="INPUT",
        help="cases: .jsonl (a JSON object a line) or .csv (a header of fact names); '-' for stdin",
    )
    batch.add_argument(
        "-o", "--output", metavar="OUTPUT", default="-", help="the records: .jsonl or .csv (default: stdout)"
    )
    batch.add_argument(
        "--input-format", choices=["jsonl", "csv"], help="input format (default: INPUT's extension, else jsonl)"
    )
    batch.add_argument(
        "--output-format", choices=["jsonl", "csv"], help="output format (default: OUTPUT's extension, else jsonl)"
    )
    batch.add_argument(
        "--workers", type=int, metavar="N", help="worker processes, each with its own engine (default: one per CPU)"
    )
    batch.add_argument("--resume", action="store_true", help="continue after the complete records already in OUTPUT")
    shown = batch.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress", action="store_true", default=None, help="show the progress bar even when stderr is not a terminal"
    )
    shown.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    _add_kb_options(batch)


def _cmd_batch(args: argparse.Namespace) -> int:
    import signal

    from spasm_advisor.io.batch import Batch, count_records, default_workers

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    batch = Batch(
        args.input,
        args.output,
        in_format=args.input_format,
        out_format=args.output_format,
        rules=args.rules,
        knowledge=args.knowledge,
        workers=args.workers or default_workers(),
        resume=args.resume,
    )
    bar = None
    if not args.quiet and (args.progress or sys.stderr.isatty()):
        from tqdm import tqdm

        total = None if args.input == "-" else count_records(args.input, batch.in_format)
        bar = tqdm(total=total, unit=" records", file=sys.stderr, dynamic_ncols=True, mininterval=0.5, smoothing=0.05)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A polite kill stops like Ctrl-C: after whole records, ready for --resume.
    previous = signal.signal(signal.SIGTERM, stop)
    interrupted = False
    try:
        summary = batch.run(bar.update if bar is not None else None)
    except KeyboardInterrupt:
        interrupted, summary = True, batch.summary
    finally:
        signal.signal(signal.SIGTERM, previous)
        if bar is not None:
            bar.close()
    if interrupted:
        hint = "; run again with --resume to continue" if args.output != "-" else ""
        print(f"spasm-advisor: interrupted after {summary.records:,} complete records{hint}", file=sys.stderr)
        return 130
    if not args.quiet:
        earlier = f", {summary.resumed:,} of them from an earlier run" if summary.resumed else ""
        levels = ", ".join(f"{level} {count:,}" for level, count in summary.levels())
        print(
            f"spasm-advisor batch: {summary.records:,} records{earlier}: {summary.assessed:,} assessed "
            f"({levels}), {summary.errors:,} errors",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if summary.errors else EXIT_OK


def _add_interview_parsers(commands: argparse._SubParsersAction[Any]) -> None:
    """Interview and schema."""
    interview = commands.add_parser(
        "interview", help="answer questions instead of writing a case file; ends with the assess report"
    )
    interview.add_argument(
        "--save",
        metavar="CASE.yaml",
        help="write the answers as a case file ('assess CASE.yaml' reproduces the report)",
    )
    _add_kb_options(interview)
    schema = commands.add_parser("schema", help="print the JSON Schema of a case (input) or of assess --json (output)")
    schema.add_argument("which", choices=["input", "output"], help="input: a case; output: an assessment")
    _add_kb_options(schema)


def _cmd_schema(args: argparse.Namespace) -> int:
    from spasm_advisor.io.schema import input_schema, output_schema

    kb = _load_advisor(args).knowledge_base
    schema = input_schema(kb) if args.which == "input" else output_schema(kb)
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return EXIT_OK


def _check_save_target(name: str) -> Path:
    """Refuse, before any question, a --save path that could not be written at the end."""
    import os

    path = Path(name)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--save {name}: is a folder, not a file")
    if not folder.is_dir():
        raise UsageError(f"--save {name}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--save {name}: not writable")
    return path


def _save_answers(path: Path, text: str) -> str | None:
    """Write ``text`` to ``path`` atomically; return why it failed, or None."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _interview_why(assessment: object) -> str:
    """The answers behind the emergency triage, in words: 'saddle_anaesthesia = yes, ...'."""
    facts: dict[str, object] = {}

    def collect(node: object) -> None:
        facts.update(dict(getattr(node, "facts", ())))
        for child in getattr(node, "derived_from", ()):
            collect(child)

    titles = []
    for node in getattr(assessment, "triage_explanation", ()):
        titles.append(node.title)
        collect(node)
    said = ", ".join(f"{k} = {'yes' if v is True else 'no' if v is False else v}" for k, v in facts.items())
    return "; ".join(titles) + (f" (your answers: {said})" if said else "")


def _cmd_interview(args: argparse.Namespace) -> int:
    import io
    import textwrap

    from spasm_advisor.io.interview import AnswerError, Interview, answer_hint, case_yaml, help_text, parse_reply
    from spasm_advisor.render.report import render_text

    advisor = _load_advisor(args)
    save = _check_save_target(args.save) if args.save else None
    if sys.stdin is None or sys.stdin.closed:
        raise UsageError("interview reads the answers from standard input, which is closed")
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # undecodable bytes become an invalid answer, not a crash
    kb = advisor.knowledge_base
    interview = Interview(kb)
    print(
        "Spasm Advisor interview. Answer each question with yes, no or don't know (dk); "
        "'back' changes the previous answer, 'help' explains a question, Ctrl-C leaves.\n"
        "General information, not medical advice: in an emergency call your local emergency number."
    )
    try:
        while (spec := interview.current()) is not None:
            number, left = len(interview.answers) + 1, interview.remaining()
            print(f"\nQuestion {number} ({left} left at most): {spec.question}")
            while True:
                try:
                    reply = parse_reply(spec, input(f"  [{answer_hint(spec)}] > "))
                except AnswerError as exc:
                    print(f"  {exc}")
                    continue
                if reply.kind == "help":
                    print(textwrap.indent(help_text(spec), "  "))
                    continue
                break
            if reply.kind == "back":
                if interview.back() is None:
                    print("  This is the first question: there is nothing to go back to.")
                continue
            interview.answer(spec.id, reply.value)
    except (KeyboardInterrupt, EOFError) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        reason = "interrupted" if interrupted else "end of input before the interview finished"
        note = ""
        if save is not None and interview.answers:
            failed = _save_answers(save, case_yaml(interview.answers, kb, complete=False))
            count = len(interview.answers)
            note = (
                f"; could not save the answers to {save}: {failed}"
                if failed
                else f"; the {count} answers so far are saved in {save}"
                if count > 1
                else f"; the answer so far is saved in {save}"
            )
        print(f"\nspasm-advisor: {reason}: no report{note}", file=sys.stderr)
        return 130 if interrupted else EXIT_FINDINGS

    assessment = advisor.assess(interview.case())
    print()
    if interview.stopped_for_emergency:
        print("EMERGENCY: your answers so far call for emergency care, so the questions stop here.")
        print(textwrap.fill(f"Why: {_interview_why(assessment)}.", width=88, subsequent_indent="  "))
        print()
    sys.stdout.write(render_text(assessment))
    if save is not None:
        failed = _save_answers(save, case_yaml(interview.answers, kb))
        if failed:
            print(
                f"spasm-advisor: error: cannot write {save}: {failed}; the case follows on standard output",
                file=sys.stderr,
            )
            sys.stdout.write(case_yaml(interview.answers, kb))
            return EXIT_USAGE
        print(f"\nAnswers saved to {save}: 'spasm-advisor assess {save}' gives this report again.")
    return EXIT_OK


def _load_advisor(args: argparse.Namespace) -> Advisor:
    from spasm_advisor import Advisor

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    if args.rules:
        return Advisor.from_paths(Path(args.rules), Path(args.knowledge))
    return Advisor.default()


def _read_case(name: str) -> object:
    from spasm_advisor.io.reader import read_case_file, read_case_stream

    # Both readers stop at the size limit, so /dev/zero or a huge pipe cannot fill memory.
    if name == "-":
        return read_case_stream(sys.stdin.buffer, "<stdin>")
    return read_case_file(name)


def _cmd_assess(args: argparse.Namespace) -> int:
    advisor = _load_advisor(args)
    source = "<stdin>" if args.case == "-" else args.case
    assessment = advisor.assess(advisor.case(_read_case(args.case), source=source))
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        print(assessment.to_json())
    elif fmt == "cds-hooks":
        from spasm_advisor.io.cds_hooks import to_cds_hooks

        print(json.dumps(to_cds_hooks(assessment, advisor.knowledge_base), indent=2, ensure_ascii=False))
    else:
        from spasm_advisor.render.report import render_text

        sys.stdout.write(render_text(assessment))
    return EXIT_OK


def _cmd_cases(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis.clinical_cases import check_case, load_clinical_cases
    from spasm_advisor.kb.resources import bundled_knowledge_dir

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
    from spasm_advisor.render.explain import render_explanation

    advisor, case = _assess_case_arg(args)
    assessment = advisor.assess(case)  # type: ignore[arg-type]
    if args.json:
        _print_json(assessment.explain())
    else:
        sys.stdout.write(render_explanation(assessment))
    return EXIT_OK


def _cmd_why_not(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis.whynot import render_why_not, why_not

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
    from spasm_advisor.analysis import rule_catalogue

    command = args.rules_command
    if command is None:
        raise UsageError("rules needs a subcommand: list, show, verify, report or diff")
    if command == "diff":
        _require_audit_extra()
        from spasm_advisor import Advisor
        from spasm_advisor.analysis.diff import diff_knowledge_bases, render_diff

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
        rows = rule_catalogue.filter_rules(
            kb, category=args.category, source=args.source, fact=args.fact, status=args.status
        )
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
        from spasm_advisor.analysis.verify import render_verification, verify

        report = verify(advisor)
        if args.json:
            _print_json(report.to_dict())
        else:
            sys.stdout.write(render_verification(report))
        return EXIT_OK if report.ok else EXIT_FINDINGS
    from spasm_advisor.analysis.clinical_cases import load_clinical_cases
    from spasm_advisor.kb.resources import bundled_knowledge_dir
    from spasm_advisor.render.audit_report import build_audit, render_html, render_markdown

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
    "batch": _cmd_batch,
    # interview commands
    "interview": _cmd_interview,
    "schema": _cmd_schema,
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
        from spasm_advisor.errors import EngineError

        if debug:
            raise
        if isinstance(exc, EngineError):
            print(f"spasm-advisor: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"spasm-advisor: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
