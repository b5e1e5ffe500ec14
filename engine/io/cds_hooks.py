"""HL7 CDS Hooks 2.0 cards for an assessment (cds-hooks.hl7.org/2.0, "Card Attributes").

The cards say what the person's report says
(:func:`spasm_advisor.render.report.build_report`, made once per call by
:func:`card_report`): the report owns every sentence, the cards add the
clinician's provenance (rule ids, sources, the derivation link). One card per
recommendation, one per withheld item (naming every rule that withholds it),
one naming the warning-sign questions that stayed unanswered and, when no
referral answers the triage (self-care), one with the level of care:

* the level of care: the referral that answers the triage (the first
  referral, in catalogue order: the most urgent one given) opens with the
  report's headline and why; without one, a ``triage`` card carries them;
* a recommendation: the report's advice, the cautions for this patient
  (with their rules), the general cautions and the graded evidence;
* a withheld item: "Not advised for you" and the report's plain reason;
* the unanswered questions: the report's sentence saying the advice is
  provisional (the summary) and its questions, each with its fact id. The
  report's headings ("If yes to any of these, ...") are left out: without
  re-assessing the case once per question, they say what the rules could
  reach with other answers too, which overstates what one yes would do.

Every card gets a fresh ``uuid`` each time it is built (feedback refers to
that one card), and its ``indicator`` says what the card itself says:

* ``critical``: the referral that answers an emergency triage;
* ``warning``: the referral that answers an urgent triage, a withheld item,
  a recommendation that a rule attached a caution to for this case, and a
  level of care that is provisional;
* ``info``: everything else.

``summary`` is one sentence under 140 characters; ``detail`` is GitHub
Markdown; ``source.label`` is the guideline's short name and ``source.url``
its address from ``sources.yaml`` when it has one; ``links`` point to the
explanation when the caller knows where it is served; warning cards offer
``overrideReasons``. Optional fields are omitted, never null.

:func:`order_cards` does the same for draft orders (the ``order-select``
hook): a card when the rules withhold or caution the ordered item, with a
suggestion that removes the draft order.

No web or FHIR library is needed here: the command line uses it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spasm_advisor.inference.assessment import Assessment, Derivation, Recommendation, Warning_, Withheld
from spasm_advisor.kb.model import KnowledgeBase, RuleSpec
from spasm_advisor.render.report import (
    LEVEL_INDICATORS,
    UNANSWERED,
    Line,
    Report,
    Section,
    build_report,
    source_label,
)

__all__ = [
    "CAUTION_LABEL",
    "EXTENSION_KEY",
    "INDICATORS",
    "OVERRIDE_REASONS",
    "OVERRIDE_SYSTEM",
    "SUMMARY_LIMIT",
    "Card",
    "DraftOrder",
    "OrderChecks",
    "assessment_cards",
    "card_report",
    "facts_behind",
    "order_cards",
    "source_label",
    "summary",
    "to_cds_hooks",
]

#: Indicator of the referral card that answers the triage; other cards are decided by what they say.
INDICATORS = LEVEL_INDICATORS
#: How a card introduces a caution a rule attached for this patient.
CAUTION_LABEL = "**Caution for this patient:**"
#: Cards' summaries are strictly shorter than this (the specification's "<140-character summary").
SUMMARY_LIMIT = 140
#: Code system of the override reasons this service offers.
OVERRIDE_SYSTEM = "urn:spasm-advisor:CodeSystem/override-reason"
#: (code, display) of each override reason offered on withheld and warning cards.
OVERRIDE_REASONS: tuple[tuple[str, str], ...] = (
    ("does-not-apply", "Does not apply to this patient"),
    ("information-wrong", "The patient information used is wrong or out of date"),
    ("benefit-outweighs-risk", "Benefit outweighs the risk for this patient (clinical judgement)"),
    ("already-addressed", "Already addressed or managed elsewhere"),
)
#: Name of the card and response extension that carries rule ids and the knowledge-base digest.
EXTENSION_KEY = "spasm-advisor"

ExplainUrl = Callable[[str | None], str]


@dataclass(frozen=True, slots=True)
class Card:
    """A card and what feedback on it needs: its kind, the item and the rules behind it."""

    uuid: str
    kind: str  # recommendation | withheld | unanswered | order-withheld | order-caution | order-unchecked
    item: str | None
    rules: tuple[str, ...]
    indicator: str
    body: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The card as CDS Hooks JSON."""
        return self.body


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """A draft order the ``order-select`` hook checks.

    ``reference`` is its relative reference (``MedicationRequest/123``), ``name``
    what it orders in words, ``kind`` the kind of order in words ("NSAID"), and
    ``recommendations`` the catalogue items whose rules apply to it.
    """

    reference: str
    name: str
    kind: str
    recommendations: tuple[str, ...]


def summary(text: str) -> str:
    """``text`` as a card summary: one line, strictly under :data:`SUMMARY_LIMIT` characters."""
    line = " ".join(text.split())
    if len(line) < SUMMARY_LIMIT:
        return line
    return line[: SUMMARY_LIMIT - 5].rstrip() + "..."


def _source(kb: KnowledgeBase, source_ids: Iterable[str]) -> dict[str, str]:
    ids = list(dict.fromkeys(source_ids))
    if not ids:
        return {"label": "Spasm Advisor"}
    primary = kb.sources[ids[0]]
    out = {"label": source_label(primary)}
    if primary.url:
        out["url"] = primary.url
    return out


def _override_reasons() -> list[dict[str, str]]:
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": display} for code, display in OVERRIDE_REASONS]


def _chain_rules(nodes: Iterable[Derivation]) -> tuple[str, ...]:
    out: list[str] = []
    for node in nodes:
        out.extend(node.rules())
    return tuple(dict.fromkeys(out))


def _why(nodes: Iterable[Derivation]) -> list[str]:
    return [f"**Why:** {' '.join(node.because.split())} (rule `{node.rule}`)" for node in nodes]


def _links(explain_url: ExplainUrl | None, item: str | None, label: str) -> dict[str, Any]:
    if explain_url is None:
        return {}
    return {"links": [{"label": label, "url": explain_url(item), "type": "absolute"}]}


def _card(
    kb: KnowledgeBase,
    *,
    kind: str,
    item: str | None,
    rules: Sequence[str],
    indicator: str,
    text: str,
    detail: Sequence[str],
    sources: Iterable[str],
    links: dict[str, Any],
    digest: str,
    new_uuid: Callable[[], uuid.UUID],
    extra: dict[str, Any] | None = None,
) -> Card:
    card_id = str(new_uuid())
    body: dict[str, Any] = {
        "uuid": card_id,
        "summary": summary(text),
        "indicator": indicator,
        "detail": "\n\n".join(detail),
        "source": _source(kb, sources),
    }
    body.update(extra or {})
    if indicator == "warning":
        body["overrideReasons"] = _override_reasons()
    body.update(links)
    body["extension"] = {EXTENSION_KEY: {"kind": kind, "item": item, "rules": list(rules), "knowledgeBase": digest}}
    return Card(card_id, kind, item, tuple(rules), indicator, body)


# --- what the person's report says, in Markdown -------------------------------------------


def _bullets(texts: Iterable[str], indent: str = "") -> str:
    return "\n".join(f"{indent}- {text}" for text in texts)


def _section_markdown(
    section: Section, *, refs: bool = False, groups: bool = True, note: bool = True, named: Sequence[str] = ()
) -> list[str]:
    """A report section as Markdown paragraphs: its title, its lines (by group, with ``groups``), its note.

    With ``refs``, each line about a fact ends with the fact id in code. A
    sentence about questions not answered (:data:`UNANSWERED`) is a paragraph
    of its own, followed by ``named`` (those questions, named) as a list.
    """
    out = [f"**{section.title}**"] if section.title else []
    group: str | None = None
    rows: list[str] = []

    def flush() -> None:
        if rows:
            out.append("\n".join(rows))
            rows.clear()

    for line in section.lines:
        if line.topic == UNANSWERED:
            flush()
            out.append(line.text)
            if named:
                out.append(_bullets(named))
            continue
        if groups and line.group != group and line.group is not None:
            flush()
            group = line.group
            out.append(group if group.endswith(":") else f"{group}:")
        text = f"{line.text} (`{line.ref}`)" if refs and line.ref else line.text
        rows.append(f"- {text}" + ("\n" + _bullets(line.items, "  ") if line.items else ""))
    flush()
    if note and section.note:
        out.append(section.note)
    return out


def _headline(level: Section) -> list[str]:
    """The level of care and why, as the report opens: the headline, then its sentences."""
    return [f"**{level.title}**", *(line.text for line in level.lines)]


def _for_this_patient(messages: Iterable[str], warnings: Iterable[Warning_]) -> list[str]:
    """The cautions rules attached for this patient (``messages``, as the report words them), with their rules."""
    rules_of: dict[str, list[str]] = {}
    for warning in warnings:
        rules_of.setdefault(warning.message, []).append(warning.rule)
    out = []
    for message in dict.fromkeys(messages):
        rules = ", ".join(f"`{r}`" for r in dict.fromkeys(rules_of.get(message, ())))
        out.append(f"{CAUTION_LABEL} {message}" + (f" (rule {rules})" if rules else ""))
    return out


def _item_detail(line: Line, rec: Recommendation) -> list[str]:
    """What the report says about one item: the advice, the cautions for this patient, the general ones."""
    out = list(line.details) if line.details else [line.text]
    if line.items:
        out.append(_bullets(line.items))
    out += _for_this_patient(line.warnings, rec.warnings)
    out += [f"**Caution:** {caution}" for caution in line.cautions]
    return out


def _evidence(line: Line) -> list[str]:
    if not line.evidence:
        return []
    strength = f" ({line.strength})" if line.strength else ""
    return [f"**Evidence{strength}:** " + "; ".join(line.evidence)]


@dataclass(frozen=True, slots=True)
class _ReportIndex:
    """The report's parts the cards read, by item."""

    report: Report
    items: Mapping[str, Line]  # what to do now and the other options, by catalogue id
    withheld: Mapping[str, Line]  # what is not advised, by catalogue id

    @classmethod
    def of(cls, report: Report) -> _ReportIndex:
        def by_ref(*kinds: str) -> dict[str, Line]:
            return {
                line.ref: line
                for kind in kinds
                if (section := report.section(kind)) is not None
                for line in section.lines
                if line.ref is not None
            }

        return cls(report, by_ref("do_now", "options"), by_ref("withheld"))

    def section(self, kind: str) -> Section:
        found = self.report.section(kind)
        if found is None:
            raise ValueError(f"the report has no '{kind}' section")
        return found


def _recommendation_card(
    assessment: Assessment,
    kb: KnowledgeBase,
    rec: Recommendation,
    index: _ReportIndex,
    answers_triage: bool,
    explain_url: ExplainUrl | None,
    new_uuid: Any,
) -> Card:
    indicator = "warning" if rec.warnings else "info"
    detail = []
    if answers_triage:
        triage = INDICATORS[assessment.triage]
        indicator = triage if triage != "info" else indicator
        detail += _headline(index.section("level"))
    line = index.items.get(rec.id)
    if line is not None:
        detail += _item_detail(line, rec)
    elif kb.recommendations[rec.id].safety_net and (help_section := index.report.section("get_help")) is not None:
        # The section's note is the cautions a rule attached to the safety net: given with their rules.
        detail += _section_markdown(help_section, note=False)
        detail += _for_this_patient((w.message for w in rec.warnings), rec.warnings)
    else:  # an item the report does not list on its own
        detail.append(" ".join(rec.advice.split()))
    detail += _why(rec.explanation)
    if line is not None:
        detail += _evidence(line)
    rules = tuple(dict.fromkeys((*_chain_rules(rec.explanation), *(w.rule for w in rec.warnings))))
    return _card(
        kb,
        kind="recommendation",
        item=rec.id,
        rules=rules,
        indicator=indicator,
        text=rec.title,
        detail=detail,
        sources=[*(e["source"] for e in rec.evidence), *rec.sources],
        links=_links(explain_url, rec.id, "Why this advice: the derivation"),
        digest=assessment.kb_digest,
        new_uuid=new_uuid,
    )


def _withheld_detail(index: _ReportIndex, item_id: str) -> str:
    return f"**{index.section('withheld').title}:** {index.withheld[item_id].text}"


def _unanswered_card(
    assessment: Assessment, kb: KnowledgeBase, index: _ReportIndex, explain_url: ExplainUrl | None, new_uuid: Any
) -> Card:
    """The warning-sign questions not answered, as the report asks them, each with its fact id.

    The report counts the questions whose answer could not change the level
    of care; the card names them too, since a clinician may still ask them.
    """
    level = index.section("level")
    said = next((line.text for line in level.lines if line.topic == UNANSWERED), level.title)
    rest = [
        f"{kb.facts[f].question} (`{f}`)"
        for f in assessment.unanswered_red_flags
        if f not in index.report.open_questions
    ]
    open_section = index.report.section("unanswered")
    # Without its headings ("If yes to any of these, ..."): grouped by what the rules could reach, not by
    # what one yes alone would do (that takes an assessment per question), they would overstate it.
    detail = (
        _section_markdown(open_section, refs=True, groups=False, named=rest)
        if open_section is not None
        else [_bullets(rest)]
    )
    return _card(
        kb,
        kind="unanswered",
        item=None,
        rules=(),
        indicator="info",
        text=said,
        detail=detail,
        sources=[],
        links=_links(explain_url, None, "Answer the open questions in the case workbench"),
        digest=assessment.kb_digest,
        new_uuid=new_uuid,
    )


def _triage_card(
    assessment: Assessment, kb: KnowledgeBase, index: _ReportIndex, explain_url: ExplainUrl | None, new_uuid: Any
) -> Card:
    """The level of care, when no referral card answers it (self-care): the report's headline and why."""
    level = index.section("level")
    return _card(
        kb,
        kind="triage",
        item=None,
        rules=_chain_rules(assessment.triage_explanation),
        indicator=level.level,
        text=level.title,
        detail=[*(line.text for line in level.lines), *_why(assessment.triage_explanation)],
        sources=[],
        links=_links(explain_url, None, "The whole case in the workbench"),
        digest=assessment.kb_digest,
        new_uuid=new_uuid,
    )


def card_report(assessment: Assessment, kb: KnowledgeBase) -> Report:
    """The person's report that cards are made from (open questions grouped by what the rules could reach).

    Without ``triage_of`` (which re-assesses the case once per open question),
    and without the command-line hint to answer them: the cards link to the
    workbench instead.
    """
    return build_report(assessment, kb, interview_hint=False)


def assessment_cards(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    explain_url: ExplainUrl | None = None,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
    report: Report | None = None,
) -> list[Card]:
    """Cards for an assessment, saying what the person's report says (:func:`card_report`, or ``report``).

    The level of care (on the referral that answers it, else a card of its
    own), then recommendations (referrals first), withheld items and the
    warning-sign questions not answered. ``explain_url(item_id)`` gives the
    address of the explanation of an item (``None``: of the whole case);
    without it cards carry no links.
    """
    index = _ReportIndex.of(report if report is not None else card_report(assessment, kb))
    answering = next((r for r in assessment.recommendations if r.category == "referral"), None)
    cards = [] if answering is not None else [_triage_card(assessment, kb, index, explain_url, new_uuid)]
    cards += [
        _recommendation_card(assessment, kb, rec, index, rec is answering, explain_url, new_uuid)
        for rec in assessment.recommendations
    ]
    by_item: dict[str, list[Withheld]] = {}
    for item in assessment.withheld:
        by_item.setdefault(item.id, []).append(item)
    withheld_title = index.section("withheld").title if by_item else ""
    for item_id, items in by_item.items():
        cards.append(
            _card(
                kb,
                kind="withheld",
                item=item_id,
                rules=_chain_rules(w.explanation for w in items),
                indicator="warning",
                text=f"{withheld_title}: {items[0].title}",
                detail=[_withheld_detail(index, item_id), *_why(w.explanation for w in items)],
                sources=[c.source for w in items for c in kb.rule_index[w.rule].sources],
                links=_links(explain_url, item_id, "Why it is withheld: the derivation"),
                digest=assessment.kb_digest,
                new_uuid=new_uuid,
            )
        )
    if assessment.unanswered_red_flags and assessment.triage != "emergency":
        cards.append(_unanswered_card(assessment, kb, index, explain_url, new_uuid))
    return cards


def to_cds_hooks(assessment: Assessment, kb: KnowledgeBase, *, explain_url: ExplainUrl | None = None) -> dict[str, Any]:
    """The assessment as a CDS Hooks response: ``{"cards": [...]}``."""
    return {"cards": [c.to_dict() for c in assessment_cards(assessment, kb, explain_url=explain_url)]}


# --- order-select ------------------------------------------------------------------


class OrderChecks:
    """Which rules could withhold a catalogue item, and the input facts each reads, worked out once.

    Built from a knowledge base (immutable), it answers each question the
    first time it is asked and remembers the answer. :func:`order_cards` uses
    the one kept with the knowledge base (:meth:`KnowledgeBase.derived`), so a
    draft-order check does not walk the rules again on every call.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        """Answer questions about ``kb``'s rules."""
        self.kb = kb
        self._derivers = kb.derivers()
        self._facts: dict[str, tuple[str, ...]] = {}
        self._withholding: dict[tuple[str, ...], tuple[RuleSpec, ...]] = {}

    def withholding(self, items: Sequence[str]) -> tuple[RuleSpec, ...]:
        """The rules with a ``withhold`` action on one of ``items``, in rule order."""
        key = tuple(items)
        found = self._withholding.get(key)
        if found is None:
            found = self._withholding[key] = tuple(
                rule for rule in self.kb.rules if any(a.kind == "withhold" and a.target in key for a in rule.actions)
            )
        return found

    def facts_behind(self, rule: RuleSpec) -> tuple[str, ...]:
        """The input facts ``rule`` reads, directly or through the findings it reads, in vocabulary order."""
        found = self._facts.get(rule.id)
        if found is not None:
            return found
        seen: set[str] = set()
        facts: set[str] = set()
        todo = [rule]
        while todo:
            current = todo.pop()
            if current.id in seen:
                continue
            seen.add(current.id)
            facts |= current.facts_read()
            for finding in current.findings_read():
                todo.extend(self._derivers.get(finding, ()))
        found = self._facts[rule.id] = tuple(name for name in self.kb.facts if name in facts)
        return found


def facts_behind(kb: KnowledgeBase, rule: RuleSpec) -> tuple[str, ...]:
    """The input facts a rule reads, directly or through the findings it reads, in vocabulary order."""
    return OrderChecks(kb).facts_behind(rule)


def _remove_suggestion(order: DraftOrder, new_uuid: Callable[[], uuid.UUID]) -> dict[str, Any]:
    return {
        "selectionBehavior": "at-most-one",
        "suggestions": [
            {
                "label": summary(f"Remove the draft order for {order.name}"),
                "uuid": str(new_uuid()),
                "actions": [
                    {
                        "type": "delete",
                        "description": summary(f"Remove the draft order for {order.name}"),
                        "resourceId": order.reference,
                    }
                ],
            }
        ],
    }


def order_cards(
    assessment: Assessment,
    kb: KnowledgeBase,
    orders: Sequence[DraftOrder],
    *,
    explain_url: ExplainUrl | None = None,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
) -> list[Card]:
    """Cards for draft orders, one per order at most.

    * withheld: a rule withholds an item the order is for (warning, with a
      suggestion to remove the draft order);
    * unchecked: not withheld, but facts the withholding rules read are
      unknown (warning, no suggestion, with any cautions listed too): the
      order was not cleared, only not checked;
    * caution: otherwise, a rule attaches a caution to such an item for this
      patient (warning, with the suggestion to remove the draft order).
    """
    checks = kb.derived("cds_hooks.order_checks", OrderChecks)
    given = {rec.id: rec for rec in assessment.recommendations}
    known = dict(assessment.case)
    cards = []
    reports: list[_ReportIndex] = []  # the person's report, made only when an order is withheld

    def report() -> _ReportIndex:
        if not reports:
            reports.append(_ReportIndex.of(card_report(assessment, kb)))
        return reports[0]

    for order in orders:
        withheld = [w for w in assessment.withheld if w.id in order.recommendations]
        links = _links(explain_url, order.recommendations[0], "Why: the derivation for this patient")
        common: dict[str, Any] = {
            "item": order.recommendations[0],
            "links": links,
            "digest": assessment.kb_digest,
            "new_uuid": new_uuid,
        }
        if withheld:
            reasons = list(dict.fromkeys(w.reason for w in withheld))
            not_advised = report().section("withheld").title
            detail = [f"**{order.kind} ordered:** {order.name} (`{order.reference}`)."]
            detail += [_withheld_detail(report(), item) for item in dict.fromkeys(w.id for w in withheld)]
            detail += _why([w.explanation for w in withheld])
            cards.append(
                _card(
                    kb,
                    kind="order-withheld",
                    rules=_chain_rules(w.explanation for w in withheld),
                    indicator="warning",
                    text=f"{order.name}: {not_advised[0].lower()}{not_advised[1:]}. {reasons[0]}",
                    detail=detail,
                    sources=[c.source for w in withheld for c in kb.rule_index[w.rule].sources],
                    extra=_remove_suggestion(order, new_uuid),
                    **common,
                )
            )
            continue
        withholding = checks.withholding(order.recommendations)
        unknown = list(dict.fromkeys(f for rule in withholding for f in checks.facts_behind(rule) if f not in known))
        if unknown:
            lines = [f"- {kb.facts[f].question} (`{f}`)" for f in unknown]
            cautions = [w for rec_id in order.recommendations if rec_id in given for w in given[rec_id].warnings]
            cards.append(
                _card(
                    kb,
                    kind="order-unchecked",
                    rules=tuple(rule.id for rule in withholding),
                    indicator="warning",
                    text=f"{order.name}: {len(unknown)} contraindication questions unanswered; not checked",
                    detail=[
                        f"**{order.kind} ordered:** {order.name} (`{order.reference}`). The rules that would "
                        "withhold it read facts the record does not answer, so the order is not cleared:",
                        "\n".join(lines),
                        *_for_this_patient((w.message for w in cautions), cautions),
                    ],
                    sources=[c.source for rule in withholding for c in rule.sources],
                    **common,
                )
            )
            continue
        cautions = [w for rec_id in order.recommendations if rec_id in given for w in given[rec_id].warnings]
        if cautions:
            detail = [f"**{order.kind} ordered:** {order.name} (`{order.reference}`)."]
            detail += _for_this_patient((w.message for w in cautions), cautions)
            cards.append(
                _card(
                    kb,
                    kind="order-caution",
                    rules=tuple(dict.fromkeys(w.rule for w in cautions)),
                    indicator="warning",
                    text=f"Caution with {order.name}: {cautions[0].message}",
                    detail=detail,
                    sources=[c.source for w in cautions for c in kb.rule_index[w.rule].sources],
                    extra=_remove_suggestion(order, new_uuid),
                    **common,
                )
            )
            continue
    return cards
