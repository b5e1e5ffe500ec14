"""What the person reads after an assessment, as data: sections of lines, each with a level.

:func:`build_report` turns an :class:`~spasm_advisor.inference.assessment.Assessment`
into a :class:`Report`; :mod:`spasm_advisor.render.report_text` writes it for
a terminal, and a service can turn the same sections into cards. The
sections come in the order a person needs them:

1. ``level``: the level of care in plain words and one sentence why. When a
   warning-sign question that could raise the level is unanswered, the level
   is *provisional* and says so;
2. ``unanswered``: those questions, before any advice, grouped by what a yes
   would mean ("If yes to any of these, see a doctor today:"), and who can
   check for a person who does not know the answer. A caution question (a
   medicine, pregnancy) is among them when a yes to it would make it an
   emergency (a blood thinner with sudden severe pain);
3. ``get_help``: "get help if..." (the safety net);
4. ``do_now``: what to do now: the referral, then the few actions with the
   best evidence, one line each;
5. ``options``: the other options by category, one line each;
6. ``withheld``: what is not advised for this person, and why, one line each;
7. ``notice``: general information, not medical advice.

Every text here is in the person's voice (titles, advice, cautions, reasons
and questions from the knowledge base, and the fixed sentences below); the
clinician's voice (graded evidence) is kept apart in :attr:`Line.evidence`.
Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from spasm_advisor.inference.assessment import NOTICE, Assessment, Derivation, Recommendation
from spasm_advisor.io.interview import question_order, raising_questions
from spasm_advisor.kb.conditions import Comparison, Known, Value
from spasm_advisor.kb.evidence import STRENGTHS, strength
from spasm_advisor.kb.model import FactSpec, KnowledgeBase, Source, triage_rank
from spasm_advisor.kb.person_text import LOCAL_NUMBER, emergency_phrase, fill, resolve_region

__all__ = [
    "DO_NOW_LIMIT",
    "HEADLINES",
    "LEVEL_INDICATORS",
    "SECTION_KINDS",
    "UNANSWERED",
    "Level",
    "Line",
    "Report",
    "Section",
    "build_report",
    "source_label",
]

#: How urgent a section is, in CDS Hooks' indicator words.
Level = Literal["critical", "warning", "info"]

#: Every section kind, in the order a report gives them.
SECTION_KINDS: tuple[str, ...] = ("level", "unanswered", "get_help", "do_now", "options", "withheld", "notice")

#: The :attr:`Line.topic` of the sentences about warning-sign questions that were not answered.
UNANSWERED = "unanswered"

#: How many self-care and therapy actions "What to do now" lists (the rest are other options).
DO_NOW_LIMIT = 4

#: The headline of each triage level: (label, what to do). ``{number}`` is the emergency phrase.
HEADLINES: dict[str, tuple[str, str]] = {
    "emergency": ("EMERGENCY", "go to an emergency department now, or call {number}"),
    "urgent": ("URGENT", "see a doctor today"),
    "routine": ("SEE A GP OR PHYSIOTHERAPIST", "book an appointment in the coming days or weeks"),
    "self_care": ("SELF-CARE", "you can look after this at home"),
}
#: The headline of self-care when warning signs that could raise the level were not asked about
#: (other levels keep their headline: the sentence under it says the level is provisional).
_PROVISIONAL = {"self_care": "this may be something you can look after at home"}
#: How urgent each triage level is, in CDS Hooks' indicator words (the level section's, and the cards').
LEVEL_INDICATORS: dict[str, Level] = {
    "emergency": "critical",
    "urgent": "warning",
    "routine": "info",
    "self_care": "info",
}
_GROUPS = {"relief": "Self-care", "therapy": "Therapies"}
_MOST_ANSWERS_SHOWN = 3
#: The longest short name of a source without a label (its title up to the first colon).
_LABEL_WIDTH = 60


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a section: a sentence, or an item with what goes with it.

    ``text`` is always shown; ``strength`` (e.g. "good evidence"),
    ``items`` (a list under the line) and ``warnings`` (cautions a rule
    attached for this person) are shown too. ``details`` (more text, such
    as the advice itself) and ``cautions`` (the general cautions), both in
    the person's voice, and ``evidence`` (the graded sources, in the
    clinician's voice) are for ``--details``. ``ref`` names
    the catalogue entry, fact or rule the line is about, for programs; it is
    never shown. ``group`` is a sub-heading within the section. ``topic``
    says, for programs, what a sentence about no one item is about:
    :data:`UNANSWERED` for those about warning-sign questions not answered.
    """

    text: str
    ref: str | None = None
    strength: str | None = None
    items: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    group: str | None = None
    topic: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (empty parts left out)."""
        out: dict[str, Any] = {"text": self.text}
        for key in ("ref", "strength", "group", "topic"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("items", "warnings", "details", "cautions", "evidence"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of the report; ``kind`` is one of :data:`SECTION_KINDS`."""

    kind: str
    title: str
    level: Level
    lines: tuple[Line, ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "level": self.level,
            "lines": [line.to_dict() for line in self.lines],
        }
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Report:
    """The report of one assessment: its sections in reading order.

    ``provisional`` is true when an unanswered warning-sign question could
    still raise the level of care; ``could_rise_to`` is then the highest level
    it could reach and ``open_questions`` the facts of those questions.
    """

    triage: str
    provisional: bool
    could_rise_to: str | None
    open_questions: tuple[str, ...]
    sections: tuple[Section, ...]
    kb_version: str
    kb_digest: str
    emergency_number: str = field(default=LOCAL_NUMBER)

    def section(self, kind: str) -> Section | None:
        """The section of that kind, or None when the report has none."""
        return next((s for s in self.sections if s.kind == kind), None)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of the sections present, in order."""
        return tuple(s.kind for s in self.sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for a service that shows the same report another way."""
        return {
            "triage": self.triage,
            "provisional": self.provisional,
            "could_rise_to": self.could_rise_to,
            "open_questions": list(self.open_questions),
            "emergency_number": self.emergency_number,
            "sections": [s.to_dict() for s in self.sections],
            "knowledge_base": {"version": self.kb_version, "digest": self.kb_digest},
        }


# --- answers in words ----------------------------------------------------------


def _answer(spec: FactSpec, value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if spec.type == "integer" and spec.unit:
        return f"{value} {spec.unit}"
    return str(value)


def _answered(kb: KnowledgeBase, nodes: Iterable[Derivation]) -> tuple[list[str], list[str]]:
    """The answers behind a chain of rules, each once: ``"Question?" (yes)``, and the questions left unanswered.

    A "don't know" the knowledge base records reads as the question with ``(don't know)``. A rule that
    matched an unanswered question (``age is unknown``) rests on it as much as on an answer, so that
    question is the second list (a question answered "don't know" is in the first instead).
    """
    facts: dict[str, Value] = {}
    missing: dict[str, None] = {}

    def collect(node: Derivation) -> None:
        for name, value in node.facts:
            facts.setdefault(name, value)
        missing.update(dict.fromkeys(node.unanswered))
        for child in node.derived_from:
            collect(child)

    for node in nodes:
        collect(node)
    answers = []
    unsure = set()
    for name, value in facts.items():
        spec = kb.facts[name]
        if spec.dont_know_for is not None and value is True:
            unsure.add(spec.dont_know_for)
            answers.append(f'"{kb.facts[spec.dont_know_for].question}" (don\'t know)')
        else:
            answers.append(f'"{spec.question}" ({_answer(spec, value)})')
    # A recording fact is not a question, and a question answered "don't know" was answered.
    unanswered = [
        f'"{kb.facts[name].question}"'
        for name in missing
        if name not in facts and name not in unsure and kb.facts[name].dont_know_for is None
    ]
    return answers, unanswered


def _listing(parts: list[str]) -> str:
    shown = parts[:_MOST_ANSWERS_SHOWN]
    more = len(parts) - len(shown)
    text = "; ".join(shown)
    return text + (f"; and {more} more" if more else "")


def _questions(n: int) -> str:
    return "1 question" if n == 1 else f"{n} questions"


# --- sections --------------------------------------------------------------------


def _level_section(
    assessment: Assessment, kb: KnowledgeBase, phrase: str, open_flags: list[str], could_rise_to: str | None
) -> Section:
    level = assessment.triage
    label, action = HEADLINES[level]
    red_flags = kb.red_flags()
    why: list[Line] = []
    if open_flags and could_rise_to is not None:
        title = f"{label} FOR NOW: {_PROVISIONAL[level]}" if level in _PROVISIONAL else f"{label}: {action}"
        title = title.replace("{number}", phrase)
        one = len(open_flags) == 1
        # A question answered "don't know" (recorded) was answered: the person was not sure.
        recorders = kb.dont_know_facts()
        case = dict(assessment.case)
        unsure = [f for f in open_flags if f in recorders and case.get(recorders[f]) is True]
        if unsure and len(unsure) == len(open_flags):
            open_words = f"you were not sure about {_questions(len(unsure))} about warning signs"
        elif unsure:
            blank = len(open_flags) - len(unsure)
            open_words = (
                f"{_questions(blank)} about warning signs {'was' if blank == 1 else 'were'} not answered "
                f"and you were not sure about {len(unsure)}"
            )
        else:
            open_words = f"{_questions(len(open_flags))} about warning signs {'was' if one else 'were'} not answered"
        why.append(
            Line(
                f"This is only provisional: {open_words}. Read {'it' if one else 'them'} below before you act "
                "on this advice.",
                topic=UNANSWERED,
            )
        )
        indicator: Level = "warning" if LEVEL_INDICATORS[level] == "info" else LEVEL_INDICATORS[level]
    else:
        title = f"{label}: {action}".replace("{number}", phrase)
        indicator = LEVEL_INDICATORS[level]
    answers, unanswered = _answered(kb, assessment.triage_explanation)
    cannot_matter = len(assessment.unanswered_red_flags) if not open_flags else 0
    if cannot_matter:
        why.append(Line(_not_more_urgent(cannot_matter, level), topic=UNANSWERED))
    if level == "self_care" and not answers and not unanswered:
        answered_no = [f for f in red_flags if dict(assessment.case).get(f) is False]
        if red_flags and len(answered_no) == len(red_flags) and not open_flags:
            why.insert(0, Line(f"You answered no to all {len(red_flags)} questions about warning signs."))
        elif not open_flags:
            why.insert(0, Line("None of your answers is a warning sign."))
    elif answers or unanswered:
        why.insert(0, Line(_because(answers, unanswered)))
    return Section("level", title, indicator, tuple(why))


def _because(answers: list[str], unanswered: list[str]) -> str:
    """The level's reason: the answers it rests on, then the questions it rests on unanswered."""
    parts = []
    if answers:
        parts.append(f"of your {'answer' if len(answers) == 1 else 'answers'} to " + _listing(answers))
    if unanswered:
        parts.append("you did not answer " + _listing(unanswered))
    return "This is because " + ", and because ".join(parts) + "."


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _sentence_line(sentence: str) -> Line:
    """A sentence, with a list after a colon (``...if you get: a; b; or c.``) as items."""
    head, colon, rest = sentence.partition(": ")
    parts = [p.strip() for p in rest.split("; ")] if colon else []
    if len(parts) < 2:
        return Line(sentence)
    parts[-1] = re.sub(r"^(?:or|and) ", "", parts[-1]).rstrip(".")
    return Line(head + ":", items=tuple(parts))


#: A safety-net sentence about a slow recovery (not urgent), and the heading it goes under.
_ROUTINE_LATER = re.compile(r"\bnot getting better after\b", re.IGNORECASE)
_LATER_GROUP = "Later"


def _get_help_section(assessment: Assessment, kb: KnowledgeBase) -> Section | None:
    net = next((r for r in assessment.recommendations if kb.recommendations[r.id].safety_net), None)
    if net is None or assessment.triage == "emergency":
        return None
    lines = [_sentence_line(s) for s in _SENTENCE.split(net.advice) if s]
    # "Not getting better after some weeks" is not for now: it goes under its own heading, last. It is
    # for self-care only: a review is already advised at every other level (today, or booked now), and
    # a person told to be seen today is not to read "after about 4 weeks" beside it.
    later = [line for line in lines if _ROUTINE_LATER.search(line.text)]
    kept = [Line(line.text, group=_LATER_GROUP) for line in later] if assessment.triage == "self_care" else []
    lines = [line for line in lines if line not in later] + kept
    if net.cautions:
        lines[-1] = Line(lines[-1].text, items=lines[-1].items, cautions=net.cautions)
    # A warning a rule attached to the safety net is about the whole list, so it follows it; a sentence
    # two warnings share ("Read the warning signs carefully...") is said once.
    sentences = (s for w in net.warnings for s in _SENTENCE.split(" ".join(w.message.split())))
    note = " ".join(dict.fromkeys(sentences)) or None
    return Section("get_help", "Get help if you have or get any of these", "critical", tuple(lines), note)


def source_label(source: Source) -> str:
    """The short name of a source: its ``label``, else its title up to the first colon ("NICE NG59")."""
    if source.label:
        return source.label
    head = source.title.split(":", 1)[0].strip()
    return head if len(head) <= _LABEL_WIDTH else " ".join(head.split())[:_LABEL_WIDTH]


def _evidence_lines(kb: KnowledgeBase, rec: Recommendation) -> tuple[str, ...]:
    lines = []
    for e in kb.recommendations[rec.id].evidence:
        source = source_label(kb.sources[e.source]) + (f" {e.ref}" if e.ref else "")
        note = "" if e.verified else " (not verified)"
        lines.append(f"{source}: {e.level.replace('_', ' ')}{note}")
    return tuple(dict.fromkeys(lines))


def _item(kb: KnowledgeBase, rec: Recommendation, *, text: str | None = None, with_strength: bool = True) -> Line:
    spec = kb.recommendations[rec.id]
    return Line(
        text or rec.title,
        ref=rec.id,
        strength=strength(spec.evidence) if with_strength and spec.evidence else None,
        warnings=tuple(dict.fromkeys(w.message for w in rec.warnings)),
        details=(rec.advice,) if text is None else (),
        cautions=rec.cautions,
        evidence=_evidence_lines(kb, rec),
        group=_GROUPS.get(rec.category),
    )


def _ranked(kb: KnowledgeBase, recs: Iterable[Recommendation]) -> list[Recommendation]:
    """Best evidence first; the catalogue's own order within each strength."""
    listed = list(recs)
    order = {rec.id: i for i, rec in enumerate(listed)}
    return sorted(listed, key=lambda r: (STRENGTHS.index(strength(kb.recommendations[r.id].evidence)), order[r.id]))


def _action_sections(assessment: Assessment, kb: KnowledgeBase) -> list[Section]:
    referrals = [r for r in assessment.recommendations if r.category == "referral"]
    others = [
        r for r in assessment.recommendations if r.category != "referral" and not kb.recommendations[r.id].safety_net
    ]
    ranked = _ranked(kb, others)
    first = {r.id for r in ranked[:DO_NOW_LIMIT]}
    do_now = [_item(kb, r, text=r.advice, with_strength=False) for r in referrals]
    if assessment.triage == "emergency" and do_now:
        # Every warning sign the person reported, for the staff (not only those that made it an emergency).
        case = dict(assessment.case)
        reported = tuple(f for f in kb.red_flags() if case.get(f) is True)
        if reported:
            signs = tuple(f'"{kb.facts[f].question}" (yes)' for f in reported)
            do_now[0] = replace(do_now[0], items=(*do_now[0].items, *signs))
    do_now += [_item(kb, r) for r in others if r.id in first]
    sections = []
    if do_now:
        sections.append(Section("do_now", "What to do now", "info", tuple(do_now)))
    rest = [r for r in ranked if r.id not in first]
    if rest:
        by_group = sorted(
            rest, key=lambda r: list(_GROUPS).index(r.category) if r.category in _GROUPS else len(_GROUPS)
        )
        sections.append(Section("options", "Other things that may help", "info", tuple(_item(kb, r) for r in by_group)))
    return sections


#: An item not suggested, by the level of care: at a same-day or emergency level nothing is suggested
#: for self-care, so how to use the item is not told (no dosing tips for what is not suggested); the
#: person asks the clinician they are about to see instead.
_NOT_SUGGESTED_AT = {
    "urgent": "not suggested for you now: ask the doctor you see today before using it.",
    "emergency": "not suggested for you now: ask the staff before using it.",
}
_NOT_SUGGESTED = "not suggested for you here. If you use it anyway:"


def _cautioned_not_suggested(assessment: Assessment, kb: KnowledgeBase) -> list[Line]:
    """Items a rule cautioned this person about that are neither suggested nor withheld.

    A person may take such an item anyway (ibuprofen from the cupboard when
    natural remedies were preferred), so the caution a rule attached for them
    is shown rather than dropped with the item, after "If you use it anyway:".
    At a same-day or emergency level the person is told to ask the clinician
    they will see instead, and the cautions (how to use it) are left out.
    """
    shown = {r.id for r in assessment.recommendations} | {w.id for w in assessment.withheld}
    rules = {rule.id: rule for rule in kb.rules}
    messages: dict[str, list[str]] = {}
    for rule_id in assessment.fired_rules:
        for action in rules[rule_id].actions if rule_id in rules else ():
            if action.kind == "caution" and action.target not in shown and action.text:
                found = messages.setdefault(action.target, [])
                if action.text not in found:
                    found.append(action.text)
    ask = _NOT_SUGGESTED_AT.get(assessment.triage)
    return [
        Line(
            f"{kb.recommendations[item].title} \N{EM DASH} {ask or _NOT_SUGGESTED}",
            ref=item,
            warnings=() if ask else tuple(texts),
        )
        for item, texts in messages.items()
        if item in kb.recommendations
    ]


def _withheld_section(assessment: Assessment, kb: KnowledgeBase) -> Section | None:
    cautioned = _cautioned_not_suggested(assessment, kb)
    if not assessment.withheld and not cautioned:
        return None
    reasons: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for item in assessment.withheld:
        titles[item.id] = item.title
        reasons.setdefault(item.id, [])
        if item.reason not in reasons[item.id]:
            reasons[item.id].append(item.reason)
    # A title that is itself advice not to do something ("A scan is not needed") is shown by its
    # withheld title ("Whether you need a scan: ..."), not as a double negative.
    lines = tuple(_withheld_line(kb, i, titles[i], reasons[i]) for i in reasons)
    return Section("withheld", "Not advised for you", "warning", (*lines, *cautioned))


def _withheld_line(kb: KnowledgeBase, item: str, title: str, reasons: list[str]) -> Line:
    spec = kb.recommendations.get(item)
    if spec is not None and spec.withheld_title:
        return Line(f"{spec.withheld_title}: {' '.join(reasons)}", ref=item)
    return Line(f"{title} \N{EM DASH} {' '.join(reasons)}", ref=item)


#: What a yes to an unanswered warning-sign question would mean, by the level it would lead to.
_IF_YES = {
    "emergency": "call {number} now",
    "urgent": "see a doctor today",
    "routine": "book an appointment with a GP or physiotherapist",
}
#: What a yes means when on its own it would not change the level of care, by that level: the person
#: already sees a doctor today at the urgent level, so "mention it to your GP" would sound like later.
_IF_YES_SAME_AT = {"urgent": "tell the doctor you see today", "emergency": "tell the staff when you get there"}
_IF_YES_SAME = "mention it to your GP"
#: The referral whose own first sentence says who can help a person unsure of an answer, by the most urgent level.
_UNSURE_REFERRAL = {"emergency": "urgent_clinician_review", "urgent": "urgent_clinician_review"}
_UNSURE_REFERRAL_DEFAULT = "clinician_review"


def _not_more_urgent(count: int, level: str, *, more: bool = False) -> str:
    why = (
        "you already need emergency care, so the answers would not change that"
        if level == "emergency"
        else "the answers could not make this more urgent"
    )
    counted = f"{count} more {'question' if count == 1 else 'questions'}" if more else _questions(count)
    return f"{counted} about warning signs {'was' if count == 1 else 'were'} not answered; {why}."


#: The finding that the case is a child's (under 16): questions are then put in a child's words where the
#: knowledge base has them, and the reader may be a parent.
_CHILD_FINDING = "under_16"
_FOR_A_CHILD = "If you are answering for a child, 'you' in these questions means the child."


def _question_for(spec: FactSpec, child: bool) -> str:
    return spec.child_question if child and spec.child_question else spec.question


#: Said when a yes to an open question is more urgent with the person's other answers than on its own,
#: so that its heading and the general safety net below (which gives each sign's level on its own) do not
#: read as two instructions for the same sign.
_WITH_OTHER_ANSWERS = (
    "With your other answers, a yes above can be more urgent than the same sign in the list below: "
    "if so, do what the heading above it says."
)


def _unanswered_section(
    assessment: Assessment,
    kb: KnowledgeBase,
    phrase: str,
    open_flags: list[str],
    if_yes: dict[str, str],
    interview_hint: bool,
    raised_by_others: bool = False,
) -> Section | None:
    """The warning-sign questions that could change the advice, grouped by what a yes would mean.

    ``raised_by_others``: a yes to some of them is more urgent with the other answers than alone.
    """
    if not open_flags:
        return None
    position = {name: i for i, name in enumerate(question_order(kb))}
    child = _CHILD_FINDING in assessment.findings
    by_level: dict[str, list[str]] = {}
    for fact in sorted(open_flags, key=position.__getitem__):
        by_level.setdefault(if_yes[fact], []).append(fact)
    lines: list[Line] = []
    for level in sorted(by_level, key=triage_rank, reverse=True):
        facts = by_level[level]
        same = _IF_YES_SAME_AT.get(assessment.triage, _IF_YES_SAME)
        action = _IF_YES.get(level, same) if triage_rank(level) > triage_rank(assessment.triage) else same
        group = f"If yes{' to any of these' if len(facts) > 1 else ''}, {action.replace('{number}', phrase)}:"
        lines += [Line(_question_for(kb.facts[f], child), ref=f, group=group) for f in facts]
    others = len(set(assessment.unanswered_red_flags) - set(open_flags))
    if others:
        lines.append(Line(_not_more_urgent(others, assessment.triage, more=True), topic=UNANSWERED))
    note = "Not answering is not the same as no. A question you did not answer is not known."
    if child:
        note += " " + _FOR_A_CHILD
    # Who can check for a person unsure of a warning sign: the referral's own first sentence (a knowledge
    # base without that referral says nothing here rather than something no source backs). A medicine
    # question listed here (a blood thinner with sudden severe pain) has its own words for the unsure
    # in the rule that names it, so with no warning sign open this sentence is left out.
    referral = kb.recommendations.get(_UNSURE_REFERRAL.get(max(by_level, key=triage_rank), _UNSURE_REFERRAL_DEFAULT))
    unsure = referral is not None and any(kb.facts[f].is_red_flag for f in open_flags)
    if referral is not None and unsure:
        first = fill(_SENTENCE.split(" ".join(referral.advice.split()))[0], resolve_region(kb, assessment.region))
        note += f" If you are not sure whether a warning sign applies to you: {first[0].lower()}{first[1:]}"
    if raised_by_others:
        note += " " + _WITH_OTHER_ANSWERS
    if interview_hint:
        note += (
            " Or answer them now: run spasm-advisor interview"
            if unsure
            else " To answer them, run: spasm-advisor interview"
        )
    return Section("unanswered", "Check these warning signs first", "warning", tuple(lines), note)


def _notice_section(assessment: Assessment, phrase: str) -> Section:
    text = NOTICE.replace(LOCAL_NUMBER, phrase) if phrase != LOCAL_NUMBER else NOTICE
    version = f"Knowledge base {assessment.kb_version} ({assessment.kb_digest})."
    return Section("notice", "", "info", (Line(text, details=(version,)),))


def _emergency_if_yes(
    kb: KnowledgeBase,
    case: Mapping[str, Value],
    fact: str,
    raising: Mapping[str, str],
    triage_of: Callable[[Mapping[str, Value]], str] | None,
) -> bool:
    """Whether a caution question (a medicine, pregnancy) is a warning sign for this person.

    It is when a yes to it, with the answers already given, makes it an
    emergency (a blood thinner with sudden severe pain), checked by
    re-assessing the case; without ``triage_of`` it is not listed, since the
    rules alone only say it could.
    """
    spec = kb.facts[fact]
    if triage_of is None or spec.role != "caution" or spec.type != "boolean" or raising[fact] != "emergency":
        return False
    return triage_of({**case, fact: True}) == "emergency"


def _raises_on_its_own(kb: KnowledgeBase, fact: str) -> bool:
    """Whether a rule that sets a same-day or emergency level has a branch reading ``fact`` and no other answer."""
    urgent = triage_rank("urgent")
    for rule in kb.rules:
        if not any(a.kind == "triage" and triage_rank(a.target) >= urgent for a in rule.actions):
            continue
        for conj in rule.dnf:
            positive = [lit for lit in conj if not getattr(lit, "negated", False)]
            if positive and all(isinstance(lit, (Comparison, Known)) and lit.name == fact for lit in positive):
                return True
    return False


def _gates_escalation_if_yes(
    kb: KnowledgeBase,
    case: Mapping[str, Value],
    fact: str,
    level: str,
    triage_of: Callable[[Mapping[str, Value]], str] | None,
) -> bool:
    """Whether a context or caution question gates a same-day or emergency level for this person.

    It does when a yes to it, with the answers already given, makes the
    level at least urgent and higher than ``level`` (sudden severe pain on a
    blood thinner or at 60 or over; a minor fall with a fracture risk
    factor), checked by re-assessing the case. An unanswered question of
    that kind is listed with the warning signs: unknown is not no. A question
    whose yes raises the level on its own (a leg getting weaker quickly) is a
    follow-up named in the safety net, not a gate, and is not listed here.
    Without ``triage_of`` it is not listed, since the rules alone only say it
    could.
    """
    spec = kb.facts[fact]
    if triage_of is None or spec.role not in ("context", "caution") or spec.type != "boolean":
        return False
    if _raises_on_its_own(kb, fact):
        return False
    if_yes = triage_of({**case, fact: True})
    return triage_rank(if_yes) >= triage_rank("urgent") and triage_rank(if_yes) > triage_rank(level)


def build_report(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    triage_of: Callable[[Mapping[str, Value]], str] | None = None,
    interview_hint: bool = True,
) -> Report:
    """The report of ``assessment``, in the person's words.

    ``kb`` is the knowledge base that made it (questions, catalogue, the
    rules that say which unanswered questions could raise the level). The
    emergency number is that of the region the assessment was made for
    (``Advisor.assess(case, region=...)``).

    ``triage_of`` gives the triage level of a case, e.g.
    ``lambda case: advisor.assess(case).triage``. With it, each unanswered
    warning-sign question that could raise the level is grouped by the
    level a yes to it alone would lead to (the case re-assessed with that
    one answer set to yes); without it, by the highest level the rules say
    it could lead to.

    ``interview_hint`` ends the note under the open questions with how to
    answer them on the command line (``spasm-advisor interview``); a program
    that offers its own way to answer them (the service's workbench) turns
    it off.
    """
    phrase = emergency_phrase(resolve_region(kb, assessment.region))
    case = dict(assessment.case)
    raising = raising_questions(kb, case, assessment.triage)
    open_flags = [
        f
        for f in raising
        if kb.facts[f].is_red_flag
        or _emergency_if_yes(kb, case, f, raising, triage_of)
        or _gates_escalation_if_yes(kb, case, f, assessment.triage, triage_of)
    ]
    could_rise_to = max((raising[f] for f in open_flags), key=triage_rank, default=None)
    if_yes = {
        f: triage_of({**case, f: True}) if triage_of is not None and kb.facts[f].type == "boolean" else raising[f]
        for f in open_flags
    }
    # A warning sign whose yes is more urgent with the other answers than on its own (weakness with
    # sudden severe pain and no age: an emergency; weakness alone: the same day).
    raised_by_others = triage_of is not None and any(
        kb.facts[f].is_red_flag
        and kb.facts[f].type == "boolean"
        and triage_rank(if_yes[f]) > triage_rank(triage_of({f: True}))
        for f in open_flags
    )
    sections = [_level_section(assessment, kb, phrase, open_flags, could_rise_to)]
    get_help, actions = _get_help_section(assessment, kb), _action_sections(assessment, kb)
    # Told to be seen today, the person reads how first, then what to do if it gets worse while waiting;
    # otherwise the warning signs come before the self-care they qualify.
    ordered = (*actions, get_help) if assessment.triage == "urgent" else (get_help, *actions)
    for section in (
        _unanswered_section(assessment, kb, phrase, open_flags, if_yes, interview_hint, raised_by_others),
        *ordered,
        _withheld_section(assessment, kb),
        _notice_section(assessment, phrase),
    ):
        if section is not None:
            sections.append(section)
    return Report(
        triage=assessment.triage,
        provisional=bool(open_flags),
        could_rise_to=could_rise_to,
        open_questions=tuple(open_flags),
        sections=tuple(sections),
        kb_version=assessment.kb_version,
        kb_digest=assessment.kb_digest,
        emergency_number=phrase,
    )
