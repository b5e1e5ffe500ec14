"""Command line of Spasm Advisor: ``spasm-advisor``.

Every command is one function, ``(args) -> exit code``, and one entry in the
table :data:`COMMANDS` that names the command, says what it does and declares
its arguments. A group of commands (``rules``) is an entry holding a table of
its own. Adding a command is writing its function and adding its entry.

The exit code is a contract (:class:`~spasm_advisor.errors.ExitCode`): 0
success, 1 findings, 2 usage or input error, 3 internal error, 130
interrupted. A bad case, a broken or unsealed knowledge base and an output
that cannot be written are usage or input errors. An error prints one line on
stderr; ``--debug`` adds the traceback. Everything printed goes through
:func:`~spasm_advisor.errors.escape_controls`, so no text a file or an
argument holds can control the terminal; only the colour codes of the
report's own styling pass, and only to a terminal. This module is the only
place that prints.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from spasm_advisor.errors import EngineError, ExitCode, UsageError, escape_controls, one_line

if TYPE_CHECKING:
    from spasm_advisor import Advisor
    from spasm_advisor.io.case import Case

__all__ = ["COMMANDS", "Arg", "Command", "Group", "OneOf", "arg", "build_parser", "main", "one_of"]

PROG = "spasm-advisor"


# --- the table's vocabulary ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command: what ``argparse``'s ``add_argument`` takes."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]

    def add_to(self, parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
        """Declare this argument on ``parser``."""
        parser.add_argument(*self.flags, **self.options)


@dataclass(frozen=True, slots=True)
class OneOf:
    """Arguments of which one call gives at most one."""

    choices: tuple[Arg, ...]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Declare these arguments on ``parser`` as a mutually exclusive group."""
        group = parser.add_mutually_exclusive_group()
        for choice in self.choices:
            choice.add_to(group)


def arg(*flags: str, **options: Any) -> Arg:
    """An argument, written as for ``add_argument``: ``arg("--json", action="store_true", help=...)``."""
    return Arg(flags, options)


def one_of(*choices: Arg) -> OneOf:
    """Arguments that exclude each other."""
    return OneOf(choices)


@dataclass(frozen=True, slots=True)
class Command:
    """A command: the function that runs it, its one-line help and its arguments."""

    run: Callable[[argparse.Namespace], int]
    help: str
    args: tuple[Arg | OneOf, ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    """A command whose subcommands are a table of their own (``rules list``, ``rules show``, ...)."""

    help: str
    commands: Mapping[str, Command | Group]


#: The folders of another knowledge base.
KB_FOLDERS = (
    arg("--rules", metavar="DIR", help="rules folder of another knowledge base"),
    arg("--knowledge", metavar="DIR", help="knowledge folder of another knowledge base"),
)
_UNSEALED = arg(
    "--unsealed",
    action="store_true",
    help="load the knowledge base without checking its files against knowledge/manifest.yaml (for authoring)",
)
#: The options of every command that reads a knowledge base.
KB_OPTIONS = (*KB_FOLDERS, _UNSEALED)


def _json_option(help: str = "print as JSON") -> Arg:
    return arg("--json", action="store_true", help=help)


def _case_argument(help: str = "case file, or '-' for stdin") -> Arg:
    return arg("case", metavar="CASE", help=help)


#: Whose emergency number the person-facing text gives.
REGION_OPTION = arg(
    "--region",
    metavar="REGION",
    help="whose emergency number the text gives (uk, us, eu, ...; default: the knowledge base's)",
)
#: The detailed report.
DETAILS_OPTION = arg("-v", "--details", action="store_true", help="add each item's advice, cautions and evidence")


# --- output ----------------------------------------------------------------------

# The styling codes of render.terminal.Style: the only escape sequences written, and only to a terminal.
_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def _write(text: str) -> None:
    """Write report text to standard output, control characters escaped (newlines and tabs kept).

    On a terminal the report's own colour and bold codes pass; every other
    control character is escaped, wherever it came from.
    """
    stream = sys.stdout
    if stream is None:
        raise UsageError("standard output is closed: nothing can be printed")
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    parts = _SGR.split(text) if tty and "\x1b" in text else [text]
    safe = "".join(part if i % 2 else escape_controls(part, multiline=True) for i, part in enumerate(parts))
    try:
        stream.write(safe)
    except BrokenPipeError:
        raise
    except OSError as exc:  # a full disk, /dev/full
        raise UsageError(f"cannot write the output: {exc.strerror or exc}") from exc


def _say(text: str = "") -> None:
    """Print a line (or a few) of report text to standard output, escaped."""
    _write(text + "\n")


def _tell(text: str) -> None:
    """Print a message to standard error, escaped; nothing when standard error is closed."""
    if sys.stderr is not None:
        print(escape_controls(text, multiline=True), file=sys.stderr)


# --- shared steps of the commands ------------------------------------------------


def _load_advisor(args: argparse.Namespace) -> Advisor:
    """The advisor over ``--rules``/``--knowledge``, else over the bundled knowledge base."""
    from spasm_advisor import Advisor

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    sealed = not getattr(args, "unsealed", False)
    if args.rules:
        return Advisor.from_paths(Path(args.rules), Path(args.knowledge), sealed=sealed)
    return Advisor.default(sealed=sealed)


def _read_case(name: str) -> object:
    from spasm_advisor.io.reader import read_case_file, read_case_stream

    # Both readers stop at the size limit, so /dev/zero or a huge pipe cannot fill memory;
    # a case file must be a regular file, so a FIFO cannot block.
    if name == "-":
        if sys.stdin is None or not hasattr(sys.stdin, "buffer"):
            raise UsageError("standard input is closed: give a case file")
        return read_case_stream(sys.stdin.buffer, "<stdin>")
    return read_case_file(name)


def _advisor_and_case(args: argparse.Namespace) -> tuple[Advisor, Case]:
    """The advisor and the validated case of a command taking ``CASE`` and the knowledge-base options."""
    advisor = _load_advisor(args)
    source = "<stdin>" if args.case == "-" else args.case
    return advisor, advisor.case(_read_case(args.case), source=source)


def _print_json(data: object) -> None:
    """Print JSON with every unprintable character as a JSON escape: the same data, safe on a terminal."""
    _write(escape_controls(json.dumps(data, indent=2, ensure_ascii=False), json=True) + "\n")


def _require_audit_extra() -> None:
    try:
        import z3  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "this command needs the audit extra: pip install '.[audit]' in the Spasm Advisor checkout "
            "(or pip install z3-solver)"
        ) from exc


# --- text for a terminal ------------------------------------------------------------

#: A person's report reads badly in lines longer than this, however wide the terminal.
_REPORT_WIDTH = 100


def _terminal(stream: Any, widest: int | None = None) -> tuple[int, bool]:
    """The width to wrap to and whether to use colour, for text written to ``stream``.

    On a terminal: its width (at most ``widest``) and colour unless
    ``NO_COLOR`` is set (https://no-color.org); otherwise 80 columns, no colour.
    """
    import os
    import shutil

    from spasm_advisor.render.terminal import DEFAULT_WIDTH, MIN_WIDTH

    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return DEFAULT_WIDTH, False
    width = max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return (min(width, widest) if widest else width), not os.environ.get("NO_COLOR")


def _report_text(assessment: Any, advisor: Advisor, *, details: bool) -> str:
    """The person's report of ``assessment``, for standard output."""
    from spasm_advisor.render.report import build_report
    from spasm_advisor.render.report_text import render_text

    width, colour = _terminal(sys.stdout, _REPORT_WIDTH)
    region = assessment.region

    def triage_of(case: Any) -> str:
        return str(advisor.assess(case, region=region).triage)

    report = build_report(assessment, advisor.knowledge_base, triage_of=triage_of)
    return render_text(report, width=width, colour=colour, details=details)


def _assess(advisor: Advisor, case: Any, region: str | None) -> Any:
    """``advisor.assess`` for ``--region``: an unknown region is a usage error."""
    from spasm_advisor.errors import UnknownRegionError

    if region is None:
        return advisor.assess(case)
    try:
        return advisor.assess(case, region=region)
    except UnknownRegionError as exc:
        raise UsageError(f"--region: {exc}") from exc


# --- assess, cases, explain, why-not, schema ---------------------------------------


def _cmd_assess(args: argparse.Namespace) -> int:
    advisor, case = _advisor_and_case(args)
    assessment = _assess(advisor, case, args.region)
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        _write(escape_controls(assessment.to_json(), json=True) + "\n")
    elif fmt == "cds-hooks":
        from spasm_advisor.io.cds_hooks import to_cds_hooks

        _print_json(to_cds_hooks(assessment, advisor.knowledge_base))
    else:
        _write(_report_text(assessment, advisor, details=args.details))
    return ExitCode.OK


def _cmd_cases(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis.clinical_cases import check_case, load_clinical_cases

    advisor = _load_advisor(args)
    if args.folder:
        cases = load_clinical_cases(Path(args.folder))
    elif args.knowledge:
        cases = load_clinical_cases(Path(args.knowledge) / "cases")
    else:
        from spasm_advisor.kb.resources import bundled_knowledge_dir

        cases = load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases")
    failed = 0
    for case in cases:
        problems = check_case(advisor, case)
        status = "FAIL" if problems else "ok"
        _say(escape_controls(f"{status:4} {case.id}: {case.title}"))
        for problem in problems:
            _say(escape_controls(f"       - {problem}"))
        failed += bool(problems)
    _say(f"{len(cases) - failed} passed, {failed} failed")
    return ExitCode.FINDINGS if failed else ExitCode.OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from spasm_advisor.render.explain import render_explanation, render_explanation_html

    advisor, case = _advisor_and_case(args)
    assessment = advisor.assess(case)
    kb = advisor.knowledge_base
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        text = escape_controls(json.dumps(assessment.explain(), indent=2, ensure_ascii=False), json=True) + "\n"
    elif fmt == "html":
        text = render_explanation_html(assessment, kb)
    else:
        width = _terminal(sys.stdout)[0] if args.output is None else 80
        text = render_explanation(assessment, kb, width=width)
    if args.output is None:
        _write(text)
        return ExitCode.OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror}") from exc
    _tell(f"wrote {args.output}")
    return ExitCode.OK


def _cmd_why_not(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis.whynot import render_why_not, why_not

    advisor, case = _advisor_and_case(args)
    answer = why_not(advisor, case, args.rec_id)
    if args.json:
        _print_json(answer.to_dict())
    else:
        _write(render_why_not(answer))
    return ExitCode.OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from spasm_advisor.io.schema import input_schema, output_schema

    kb = _load_advisor(args).knowledge_base
    _print_json(input_schema(kb) if args.which == "input" else output_schema(kb))
    return ExitCode.OK


# --- rules ---------------------------------------------------------------------------


def _cmd_rules_list(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis import rule_catalogue

    kb = _load_advisor(args).knowledge_base
    rows = rule_catalogue.filter_rules(
        kb, category=args.category, source=args.source, fact=args.fact, status=args.status
    )
    if args.json:
        _print_json([rule_catalogue.rule_summary(kb, r) for r in rows])
    else:
        _write(rule_catalogue.render_list(rows))
    return ExitCode.OK


def _cmd_rules_show(args: argparse.Namespace) -> int:
    from spasm_advisor.analysis import rule_catalogue

    kb = _load_advisor(args).knowledge_base
    rule = rule_catalogue.find_rule(kb, args.rule_id)
    if args.json:
        _print_json(rule_catalogue.rule_details(kb, rule))
    else:
        _write(rule_catalogue.render_rule(kb, rule))
    return ExitCode.OK


class _PhaseBars:
    """A progress bar per phase of ``rules verify``, on stderr, gone when the phase ends."""

    def __init__(self) -> None:
        self.phase = ""
        self.bar: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            from tqdm import tqdm

            self.close()
            self.phase = phase
            self.bar = tqdm(total=total or None, desc=f"verify: {phase}", file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _cmd_rules_verify(args: argparse.Namespace) -> int:
    advisor = _load_advisor(args)
    _require_audit_extra()
    from spasm_advisor.analysis.verify import render_verification, verify

    bars = _PhaseBars() if args.progress or sys.stderr.isatty() else None
    try:
        report = verify(advisor, progress=bars)
    finally:
        if bars is not None:
            bars.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        _write(render_verification(report))
    return ExitCode.OK if report.ok else ExitCode.FINDINGS


def _cmd_rules_report(args: argparse.Namespace) -> int:
    advisor = _load_advisor(args)
    _require_audit_extra()
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
    _tell(f"wrote {args.output}")
    return ExitCode.OK


def _cmd_rules_safety_case(args: argparse.Namespace) -> int:
    """The hazard -> control -> proof/test matrix; exit 1 when a link is broken."""
    advisor = _load_advisor(args)
    _require_audit_extra()
    from spasm_advisor.analysis.safety_case import build_safety_case
    from spasm_advisor.analysis.verify import verify
    from spasm_advisor.render.safety_case import render_safety_case_markdown, render_safety_case_text

    case = build_safety_case(advisor, {r.id: r.status for r in verify(advisor).invariants})
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        _print_json(case.to_dict())
    elif fmt == "md":
        _write(render_safety_case_markdown(case))
    else:
        _write(render_safety_case_text(case))
    return ExitCode.OK if case.ok else ExitCode.FINDINGS


def _cmd_rules_diff(args: argparse.Namespace) -> int:
    _require_audit_extra()
    from spasm_advisor import Advisor
    from spasm_advisor.analysis.diff import diff_knowledge_bases, render_diff

    sealed = not args.unsealed
    old = Advisor.from_paths(Path(args.old) / "rules", Path(args.old) / "knowledge", sealed=sealed)
    new = Advisor.from_paths(Path(args.new) / "rules", Path(args.new) / "knowledge", sealed=sealed)
    result = diff_knowledge_bases(old, new)
    if args.json:
        _print_json(result.to_dict())
    else:
        _write(render_diff(result))
    return ExitCode.FINDINGS if result.behaviour_changed else ExitCode.OK


def _cmd_rules_seal(args: argparse.Namespace) -> int:
    """Write (or with --check, compare) the manifest of a knowledge base."""
    from spasm_advisor.kb.loader import seal_knowledge_base, verify_seal
    from spasm_advisor.kb.resources import bundled_knowledge_dir, bundled_rules_dir

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    labels: dict[str, str] = {}
    if args.rules:
        rules, knowledge = Path(args.rules), Path(args.knowledge)
    else:
        bundled_rules, bundled_knowledge = bundled_rules_dir(), bundled_knowledge_dir()
        if not isinstance(bundled_rules, Path) or not isinstance(bundled_knowledge, Path):
            raise UsageError("the bundled knowledge base is not a folder on disk: give --rules and --knowledge")
        rules, knowledge = bundled_rules, bundled_knowledge
        labels = {"rules_label": "rules", "knowledge_label": "knowledge"}
    if args.check:
        manifest = f"{labels.get('knowledge_label', args.knowledge)}/manifest.yaml"
        differences = verify_seal(rules, knowledge, **labels)
        for difference in differences:
            _say(escape_controls(f"{difference.display} {difference.message(manifest)}"))
        if differences:
            _tell(f"{PROG}: {len(differences)} difference(s) from the manifest: run '{PROG} rules seal'")
            return ExitCode.FINDINGS
        _say("sealed: every file matches the manifest")
        return ExitCode.OK
    result = seal_knowledge_base(rules, knowledge, **labels)
    state = "wrote" if result.written else "already up to date:"
    _say(f"{state} {result.manifest} ({result.files} files, {result.digest})")
    return ExitCode.OK


# --- batch ---------------------------------------------------------------------------


def _cmd_batch(args: argparse.Namespace) -> int:
    import signal

    from spasm_advisor.io.batch import MAX_RECORD_BYTES, Batch, count_records, default_workers

    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.max_record_bytes is not None and args.max_record_bytes < 1:
        raise UsageError(f"--max-record-bytes must be at least 1, got {args.max_record_bytes}")
    batch = Batch(
        args.input,
        args.output,
        in_format=args.input_format,
        out_format=args.output_format,
        rules=args.rules,
        knowledge=args.knowledge,
        workers=args.workers or default_workers(),
        resume=args.resume,
        record=args.record,
        max_record_bytes=args.max_record_bytes or MAX_RECORD_BYTES,
        sealed=not args.unsealed,
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
        resumable = args.output != "-" and batch.out_format != "parquet"
        hint = "; run again with --resume to continue" if resumable else ""
        _tell(f"{PROG}: interrupted after {summary.records:,} complete records{hint}")
        return ExitCode.INTERRUPTED
    if not args.quiet:
        earlier = f", {summary.resumed:,} of them from an earlier run" if summary.resumed else ""
        levels = ", ".join(f"{level} {count:,}" for level, count in summary.levels())
        _tell(
            f"{PROG} batch: {summary.records:,} records{earlier}: {summary.assessed:,} assessed "
            f"({levels}), {summary.errors:,} errors"
        )
    return ExitCode.FINDINGS if summary.errors else ExitCode.OK


# --- interview -----------------------------------------------------------------------


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


def _cmd_interview(args: argparse.Namespace) -> int:
    import io

    from spasm_advisor.io.interview import (
        ROLE_GROUP_TITLES,
        AnswerError,
        Interview,
        answer_hint,
        case_yaml,
        group_of,
        help_text,
        parse_reply,
    )
    from spasm_advisor.kb.person_text import emergency_phrase, resolve_region
    from spasm_advisor.render.terminal import Style, wrap

    advisor = _load_advisor(args)
    save = _check_save_target(args.save) if args.save else None
    if sys.stdin is None or sys.stdin.closed:
        raise UsageError("interview reads the answers from standard input, which is closed")
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # undecodable bytes become an invalid answer, not a crash
    kb = advisor.knowledge_base
    try:
        phrase = emergency_phrase(resolve_region(kb, args.region))
    except ValueError as exc:
        raise UsageError(f"--region: {exc}") from exc
    width, colour = _terminal(sys.stdout, _REPORT_WIDTH)
    style = Style(colour)
    # Typed answers are echoed by the terminal; answers read from a pipe or
    # a file are echoed here, so that the output reads as a conversation.
    echo = not sys.stdin.isatty()
    interview = Interview(kb)
    intro = (
        "Spasm Advisor interview. Answer each question with yes, no or don't know (dk); "
        "'back' changes the previous answer, 'help' explains a question, Ctrl-C leaves. "
        f"General information, not medical advice: in an emergency call {phrase}."
    )
    _say("\n".join(wrap(intro, width)))
    # Parts are announced in order, each once: a follow-up from a later part is asked at once without
    # starting that part, and the part being asked goes on after it (never "Part 1" again).
    group, following_up = -1, False
    try:
        while (spec := interview.current()) is not None:
            number, left = len(interview.answers) + 1, interview.remaining()
            follow_up = interview.is_follow_up(spec) and group_of(spec) != group
            if follow_up and not following_up:
                _say("\n" + style("Follow-up questions about an earlier answer:", "bold"))
            elif not follow_up and (group_of(spec) > group or following_up):
                again = ", continued" if group_of(spec) <= group else ""
                group = max(group, group_of(spec))
                part = f"Part {group + 1} of {len(ROLE_GROUP_TITLES)}{again}: {ROLE_GROUP_TITLES[group]}"
                _say("\n" + style(part, "bold"))
            following_up = follow_up
            _say("\n" + "\n".join(wrap(f"Question {number} ({left} left at most): {spec.question}", width, "", "  ")))
            while True:
                try:
                    typed = input(escape_controls(f"  [{answer_hint(spec)}] > "))
                    if echo:
                        _say(typed)
                    reply = parse_reply(spec, typed)
                except AnswerError as exc:
                    _say("\n".join(wrap(str(exc), width, "  ", "  ")))
                    continue
                if reply.kind == "help":
                    recorded = spec.id in interview.knowledge_base.dont_know_facts()
                    for paragraph in help_text(spec, records_dont_know=recorded).splitlines():
                        _say("\n".join(wrap(paragraph, width, "  ", "  ")))
                    continue
                break
            if reply.kind == "back":
                if interview.back() is None:
                    _say("  This is the first question: there is nothing to go back to.")
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
        _tell(f"\n{PROG}: {reason}: no report{note}")
        return ExitCode.INTERRUPTED if interrupted else ExitCode.FINDINGS

    assessment = _assess(advisor, interview.case(), args.region)
    _say()
    if interview.stopped_for_emergency:
        _say(style("Your answers call for emergency care, so the questions stop here.", "bold", "red") + "\n")
    else:
        _say(style("That was the last question. Here is your report.", "bold") + "\n")
    _write(_report_text(assessment, advisor, details=args.details))
    if save is not None:
        failed = _save_answers(save, case_yaml(interview.answers, kb))
        if failed:
            _tell(f"{PROG}: error: cannot write {save}: {failed}; the case follows on standard output")
            _write(case_yaml(interview.answers, kb))
            return ExitCode.USAGE
        # One short line each, unwrapped, so that a long file name stays whole.
        _say(f"\nAnswers saved to {save}.\nThis report again: {PROG} assess {save}")
        if not args.details:
            _say(f"With every option and its cautions: {PROG} assess {save} --details")
    elif not args.details:
        _say(
            "\n"
            + "\n".join(
                wrap(
                    f"To see every option and its cautions, run the interview again with --save FILE, then "
                    f"{PROG} assess FILE --details (or start it with {PROG} interview --details).",
                    width,
                )
            )
        )
    return ExitCode.OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import dataclasses

    try:
        import uvicorn  # noqa: F401 (the server extra is installed)

        from spasm_advisor.service.app import create_app
        from spasm_advisor.service.config import ServiceConfig
        from spasm_advisor.service.serving import serve
    except ImportError as exc:
        raise UsageError("serve needs the server extra: pip install '.[server]' in the Spasm Advisor checkout") from exc
    if bool(args.rules) != bool(args.knowledge):
        raise UsageError("--rules and --knowledge go together: give both folders")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    try:
        base = ServiceConfig.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    config = dataclasses.replace(
        base,
        rules=args.rules or base.rules,
        knowledge=args.knowledge or base.knowledge,
        feedback_db=args.feedback_db or base.feedback_db,
        max_body=args.max_body or base.max_body,
        public_url=args.public_url or base.public_url,
        cors_origins=tuple(args.cors_origin) or base.cors_origins,
        jwt_jwks=args.jwt_jwks or base.jwt_jwks,
        jwt_issuers=tuple(args.jwt_issuer) or base.jwt_issuers,
        jwt_audience=args.jwt_audience or args.public_url or base.jwt_audience,
    )
    if config.jwt_jwks and not (config.jwt_issuers and config.jwt_audience):
        raise UsageError("--jwt-jwks needs --jwt-issuer and --jwt-audience (or --public-url)")
    try:
        app = create_app(config)  # load everything now: a broken knowledge base fails before listening
    except ValueError as exc:
        if isinstance(exc, EngineError):
            raise
        raise UsageError(str(exc)) from exc
    _tell(f"{PROG}: serving on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    if args.workers > 1:
        import os

        os.environ.update(config.to_env())  # each worker builds its own application from these
    serve(app, host=args.host, port=args.port, workers=args.workers)
    return ExitCode.OK


def _cmd_feedback_report(args: argparse.Namespace) -> int:
    from spasm_advisor.service.config import DEFAULT_FEEDBACK_DB
    from spasm_advisor.service.feedback import FeedbackStore, render_report

    store = FeedbackStore(args.db or DEFAULT_FEEDBACK_DB, create=False)
    try:
        rows, counts = store.report(), store.counts()
    finally:
        store.close()
    if args.json:
        _print_json({**counts, "rules": [r.to_dict() for r in rows]})
    else:
        _write(render_report(rows, counts))
    return ExitCode.OK


# --- the table -------------------------------------------------------------------------

#: Every command: name -> :class:`Command`, or :class:`Group` for a command with subcommands.
COMMANDS: Mapping[str, Command | Group] = {
    "assess": Command(
        _cmd_assess,
        "assess a case file (JSON or YAML; '-' for stdin)",
        (
            _case_argument("case file, or '-' to read standard input"),
            one_of(
                _json_option("print the assessment as JSON"),
                arg("--format", choices=["text", "json", "cds-hooks"], default=None, help="output format"),
            ),
            DETAILS_OPTION,
            REGION_OPTION,
            *KB_OPTIONS,
        ),
    ),
    "cases": Command(
        _cmd_cases,
        "run clinical test cases and report every difference",
        (
            arg("folder", metavar="DIR", nargs="?", help="folder of case files (default: the bundled cases)"),
            *KB_OPTIONS,
        ),
    ),
    "explain": Command(
        _cmd_explain,
        "the derivation tree of a case's triage and advice",
        (
            _case_argument(),
            one_of(
                _json_option("print the tree as JSON"),
                arg("--format", choices=["text", "json", "html"], default=None, help="html: one self-contained page"),
            ),
            arg("-o", "--output", metavar="FILE", help="write to FILE instead of standard output"),
            *KB_OPTIONS,
        ),
    ),
    "why-not": Command(
        _cmd_why_not,
        "why a case did not get a recommendation",
        (
            _case_argument(),
            arg("rec_id", metavar="REC_ID", help="a recommendation id from the catalogue"),
            _json_option("print the answer as JSON"),
            *KB_OPTIONS,
        ),
    ),
    "rules": Group(
        "inspect, verify, report on, compare and seal rule bases",
        {
            "list": Command(
                _cmd_rules_list,
                "list rules, optionally filtered",
                (
                    arg(
                        "--category",
                        help=(
                            "rules concluding in this category (relief, therapy, referral, triage, finding, "
                            "withhold, caution), or defined in the rule file of that name"
                        ),
                    ),
                    arg("--source", help="rules citing this source id"),
                    arg("--fact", help="rules reading this fact or finding"),
                    arg("--status", help="rules with this provenance status (testing, production, research, expired)"),
                    _json_option(),
                    *KB_OPTIONS,
                ),
            ),
            "show": Command(
                _cmd_rules_show,
                "one rule as written, its provenance and dependencies",
                (arg("rule_id", metavar="RULE_ID"), _json_option(), *KB_OPTIONS),
            ),
            "verify": Command(
                _cmd_rules_verify,
                "anomaly checks and proofs of the invariants over every case",
                (
                    _json_option("print the report as JSON"),
                    arg(
                        "--progress",
                        action="store_true",
                        help="show progress by phase on stderr even when it is not a terminal",
                    ),
                    *KB_OPTIONS,
                ),
            ),
            "report": Command(
                _cmd_rules_report,
                "a self-contained audit report (HTML or Markdown)",
                (
                    arg("-o", "--output", metavar="FILE", required=True, help="where to write the report"),
                    arg("--format", choices=["html", "md"], default="html", help="report format"),
                    *KB_OPTIONS,
                ),
            ),
            "diff": Command(
                _cmd_rules_diff,
                "what changes between two knowledge bases, for every case",
                (
                    arg("old", metavar="OLD_DIR", help="folder holding rules/ and knowledge/ of the old version"),
                    arg("new", metavar="NEW_DIR", help="folder holding rules/ and knowledge/ of the new version"),
                    _json_option("print the diff as JSON"),
                    arg(
                        "--unsealed",
                        action="store_true",
                        help="load both knowledge bases without checking their manifests",
                    ),
                ),
            ),
            "safety-case": Command(
                _cmd_rules_safety_case,
                "the hazard log traced to its controls, proofs and tests, with the residual risk",
                (
                    one_of(
                        _json_option("print the safety case as JSON"),
                        arg("--format", choices=["text", "json", "md"], default=None, help="output format"),
                    ),
                    *KB_OPTIONS,
                ),
            ),
            "seal": Command(
                _cmd_rules_seal,
                "write knowledge/manifest.yaml: every file of the knowledge base with its SHA-256",
                (
                    arg(
                        "--check",
                        action="store_true",
                        help="write nothing; list every difference from the manifest (exit 1 if any)",
                    ),
                    *KB_FOLDERS,
                ),
            ),
        },
    ),
    "batch": Command(
        _cmd_batch,
        "assess every case of a JSON Lines or CSV file; one output record per input record",
        (
            arg(
                "input",
                metavar="INPUT",
                help="cases: .jsonl (a JSON object a line) or .csv (a header of fact names); '-' for stdin",
            ),
            arg(
                "-o",
                "--output",
                metavar="OUTPUT",
                default="-",
                help="the records: .jsonl, .csv or .parquet (Parquet needs pyarrow; default: stdout)",
            ),
            arg(
                "--input-format", choices=["jsonl", "csv"], help="input format (default: INPUT's extension, else jsonl)"
            ),
            arg(
                "--output-format",
                choices=["jsonl", "csv", "parquet"],
                help="output format (default: OUTPUT's extension, else jsonl)",
            ),
            arg(
                "--record",
                choices=["full", "summary"],
                default="full",
                help="JSON Lines and Parquet records: 'full' (the whole JSON contract, about 25 KB a case; the"
                " default) or 'summary' (triage, recommendations, withheld, unanswered red flags, findings, rules"
                " fired and knowledge base, under 1 KB); CSV is the same either way",
            ),
            arg(
                "--workers",
                type=int,
                metavar="N",
                help="worker processes, each with its own engine (default: one per CPU)",
            ),
            arg(
                "--resume",
                action="store_true",
                help="continue after the complete records already in OUTPUT, if the input before them is unchanged",
            ),
            arg(
                "--max-record-bytes",
                type=int,
                metavar="N",
                help="largest input record; a larger one is an error record (default: 1000000, as for assess)",
            ),
            one_of(
                arg(
                    "--progress",
                    action="store_true",
                    default=None,
                    help="show the progress bar even when stderr is not a terminal",
                ),
                arg("--quiet", action="store_true", help="no progress bar and no summary"),
            ),
            *KB_OPTIONS,
        ),
    ),
    "interview": Command(
        _cmd_interview,
        "answer questions instead of writing a case file; ends with the assess report",
        (
            arg(
                "--save",
                metavar="CASE.yaml",
                help="write the answers as a case file ('assess CASE.yaml' reproduces the report)",
            ),
            arg("-v", "--details", action="store_true", help="end with the detailed report"),
            REGION_OPTION,
            *KB_OPTIONS,
        ),
    ),
    "schema": Command(
        _cmd_schema,
        "print the JSON Schema of a case (input) or of assess --json (output)",
        (
            arg("which", choices=["input", "output"], help="input: a case; output: an assessment"),
            *KB_OPTIONS,
        ),
    ),
    "serve": Command(
        _cmd_serve,
        "run the CDS Hooks service, the JSON API and the case workbench (needs the server extra)",
        (
            arg("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, loopback only)"),
            arg("--port", type=int, default=8080, help="port (default: 8080)"),
            arg("--workers", type=int, default=1, metavar="N", help="worker processes (default: 1)"),
            arg(
                "--feedback-db",
                metavar="FILE",
                help="SQLite file for cards and feedback (default: spasm-advisor-feedback.sqlite3)",
            ),
            arg("--max-body", type=int, metavar="BYTES", help="largest request body (default: 1000000)"),
            arg("--public-url", metavar="URL", help="base URL clients use (links in cards, the JWT audience)"),
            arg("--cors-origin", action="append", default=[], metavar="ORIGIN", help="browser origin allowed to call"),
            arg("--jwt-jwks", metavar="FILE", help="check CDS clients' JWTs against this JWK Set file"),
            arg("--jwt-issuer", action="append", default=[], metavar="ISS", help="allowed JWT issuer (repeatable)"),
            arg(
                "--jwt-audience", metavar="URL", help="base URL the JWT aud is checked against (default: --public-url)"
            ),
            *KB_FOLDERS,
        ),
    ),
    "feedback": Group(
        "what clinicians did with the service's cards",
        {
            "report": Command(
                _cmd_feedback_report,
                "acceptance and override rates per rule, with override reasons",
                (
                    arg("--db", metavar="FILE", help="the feedback database (default: spasm-advisor-feedback.sqlite3)"),
                    _json_option(),
                ),
            ),
        },
    ),
}


# --- parsing and running ---------------------------------------------------------------


class _VersionAction(argparse.Action):
    """``--version``: the version is read from the package metadata only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        import spasm_advisor

        print(f"{PROG} {spasm_advisor.__version__}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (try '{self.prog} --help')")


def _names(table: Mapping[str, object]) -> str:
    names = list(table)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _add_table(parser: argparse.ArgumentParser, table: Mapping[str, Command | Group], dest: str) -> None:
    """Declare every entry of ``table`` as a subcommand of ``parser``; ``args.run`` runs the one called."""
    commands = parser.add_subparsers(dest=dest, metavar="COMMAND" if dest == "command" else "SUBCOMMAND")
    for name, entry in table.items():
        sub = commands.add_parser(name, help=entry.help)
        if isinstance(entry, Group):
            group_name = f"{parser.prog.removeprefix(PROG).strip()} {name}".strip()
            message = f"{group_name} needs a subcommand: {_names(entry.commands)}"

            def missing(args: argparse.Namespace, message: str = message) -> int:
                raise UsageError(message)

            sub.set_defaults(run=missing)
            _add_table(sub, entry.commands, f"{name.replace('-', '_')}_command")
        else:
            for argument in entry.args:
                argument.add_to(sub)
            sub.set_defaults(run=entry.run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command in :data:`COMMANDS`."""
    parser = _Parser(prog=PROG, description="Triage and explained advice for back muscle spasm.")
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")

    def no_command(args: argparse.Namespace) -> int:
        parser.print_help()
        return ExitCode.USAGE

    parser.set_defaults(run=no_command)
    _add_table(parser, COMMANDS, "command")
    return parser


def _print_traceback() -> None:
    import traceback  # only with --debug: it is slow to import

    traceback.print_exc()


def _flush_stdout() -> str | None:
    """Flush standard output; why it cannot be written, or None.

    After a failure the descriptor is pointed at the null device, so Python's
    own flush at exit does not print a second, raw error.
    """
    if sys.stdout is None:
        return None
    try:
        sys.stdout.flush()
    except OSError as exc:
        import os

        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        except (OSError, ValueError):
            pass
        return None if isinstance(exc, BrokenPipeError) else (exc.strerror or str(exc))
    return None


def _run(arguments: list[str], debug: bool) -> int:
    try:
        args = build_parser().parse_args(arguments)
        return int(args.run(args))
    except EngineError as exc:
        if debug:
            _print_traceback()
        _tell(f"{PROG}: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _tell(f"{PROG}: interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK  # a reader such as 'head' stopped early: nothing went wrong
    except Exception as exc:
        if debug:
            _print_traceback()
        hint = "" if debug else " (run with --debug for details)"
        _tell(f"{PROG}: internal error: {type(exc).__name__}: {one_line(str(exc))}{hint}")
        return ExitCode.INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit code (:class:`~spasm_advisor.errors.ExitCode`)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that even an error while parsing can show its traceback.
    code = _run(arguments, debug="--debug" in arguments)
    failure = _flush_stdout()
    if failure is not None and code != ExitCode.USAGE:
        _tell(f"{PROG}: error: cannot write the output: {failure}")
        code = ExitCode.USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
