"""HL7 CDS Hooks 2.0 cards for an assessment (cds-hooks.hl7.org/2.0, "Card Attributes").

One card per recommendation and one per withheld item (naming every rule
that withholds it), plus one card naming
the red-flag questions that stayed unanswered. Every card gets a fresh
``uuid`` each time it is built (feedback refers to that one card), and its
``indicator`` says what the card itself says:

* ``critical``: the referral that answers an emergency triage (the first
  referral, in catalogue order: the most urgent one given);
* ``warning``: the referral that answers an urgent triage, a withheld item,
  and a recommendation that a rule attached a caution to for this case;
* ``info``: everything else.

``summary`` is one sentence under 140 characters; ``detail`` is GitHub
Markdown with the advice, the reason and the rule ids; ``source.label`` is
the guideline's short name and ``source.url`` its address from
``sources.yaml`` when it has one; ``links`` point to the explanation when the
caller knows where it is served; withheld and warning cards offer
``overrideReasons``. Optional fields are omitted, never null.

:func:`order_cards` does the same for draft orders (the ``order-select``
hook): a card when the rules withhold or caution the ordered item, with a
suggestion that removes the draft order.

No web or FHIR library is needed here: the command line uses it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spasm_advisor.inference.assessment import Assessment, Derivation, Recommendation, Withheld
from spasm_advisor.kb.model import KnowledgeBase, RuleSpec, Source

__all__ = [
    "EXTENSION_KEY",
    "INDICATORS",
    "OVERRIDE_REASONS",
    "OVERRIDE_SYSTEM",
    "SUMMARY_LIMIT",
    "Card",
    "DraftOrder",
    "OrderChecks",
    "assessment_cards",
    "facts_behind",
    "order_cards",
    "source_label",
    "summary",
    "to_cds_hooks",
]

#: Indicator of the referral card that answers the triage; other cards are decided by what they say.
INDICATORS = {"emergency": "critical", "urgent": "warning", "routine": "info", "self_care": "info"}
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


def source_label(source: Source) -> str:
    """The short name of a source: its ``label``, else its title up to the first colon ("NICE NG59")."""
    if source.label:
        return source.label
    head = source.title.split(":", 1)[0].strip()
    return head if len(head) <= 60 else summary(head)[:60]


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


def _evidence_line(kb: KnowledgeBase, rec: Recommendation) -> str | None:
    parts = []
    for ev in rec.evidence:
        name = source_label(kb.sources[ev["source"]]) + (f" {ev['ref']}" if ev.get("ref") else "")
        level = str(ev["level"]).replace("_", " ")
        parts.append(f"{name} ({level}{'' if ev.get('verified', True) else ', unverified'})")
    return "**Evidence:** " + "; ".join(dict.fromkeys(parts)) if parts else None


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


def _recommendation_card(
    assessment: Assessment, kb: KnowledgeBase, rec: Recommendation, explain_url: ExplainUrl | None, new_uuid: Any
) -> Card:
    indicator = "warning" if rec.warnings else "info"
    if rec is next((r for r in assessment.recommendations if r.category == "referral"), None):
        triage = INDICATORS[assessment.triage]
        indicator = triage if triage != "info" else indicator
    detail = [" ".join(rec.advice.split())]
    detail += [f"**Caution for this patient:** {w.message} (rule `{w.rule}`)" for w in rec.warnings]
    detail += _why(rec.explanation)
    evidence = _evidence_line(kb, rec)
    if evidence:
        detail.append(evidence)
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


def assessment_cards(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    explain_url: ExplainUrl | None = None,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
) -> list[Card]:
    """Cards for an assessment: recommendations (referrals first), withheld items, unanswered red flags.

    ``explain_url(item_id)`` gives the address of the explanation of an item
    (``None``: of the whole case); without it cards carry no links.
    """
    cards = [_recommendation_card(assessment, kb, rec, explain_url, new_uuid) for rec in assessment.recommendations]
    by_item: dict[str, list[Withheld]] = {}
    for item in assessment.withheld:
        by_item.setdefault(item.id, []).append(item)
    for item_id, items in by_item.items():
        detail = [f"**Not advised for this patient:** {w.reason} (rule `{w.rule}`)" for w in items]
        cards.append(
            _card(
                kb,
                kind="withheld",
                item=item_id,
                rules=_chain_rules(w.explanation for w in items),
                indicator="warning",
                text=f"Withheld: {items[0].title}",
                detail=[*detail, *_why(w.explanation for w in items)],
                sources=[c.source for w in items for c in kb.rule_index[w.rule].sources],
                links=_links(explain_url, item_id, "Why it is withheld: the derivation"),
                digest=assessment.kb_digest,
                new_uuid=new_uuid,
            )
        )
    if assessment.unanswered_red_flags and assessment.triage != "emergency":
        flags = assessment.unanswered_red_flags
        lines = [f"- {kb.facts[f].question} (`{f}`)" for f in flags]
        cards.append(
            _card(
                kb,
                kind="unanswered",
                item=None,
                rules=(),
                indicator="info",
                text=f"{len(flags)} red-flag questions not answered: they are unknown, not ruled out",
                detail=[
                    "The triage above holds only if these warning signs are absent. Nothing in the record "
                    "answered them, so ask:",
                    "\n".join(lines),
                ],
                sources=[],
                links=_links(explain_url, None, "Answer the open questions in the case workbench"),
                digest=assessment.kb_digest,
                new_uuid=new_uuid,
            )
        )
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
            detail = [f"**{order.kind} ordered:** {order.name} (`{order.reference}`)."]
            detail += [f"**Not advised for this patient:** {w.reason} (rule `{w.rule}`)" for w in withheld]
            detail += _why([w.explanation for w in withheld])
            cards.append(
                _card(
                    kb,
                    kind="order-withheld",
                    rules=_chain_rules(w.explanation for w in withheld),
                    indicator="warning",
                    text=f"{order.name}: not advised for this patient. {reasons[0]}",
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
                        *[f"**Caution for this patient:** {w.message} (rule `{w.rule}`)" for w in cautions],
                    ],
                    sources=[c.source for rule in withholding for c in rule.sources],
                    **common,
                )
            )
            continue
        cautions = [w for rec_id in order.recommendations if rec_id in given for w in given[rec_id].warnings]
        if cautions:
            detail = [f"**{order.kind} ordered:** {order.name} (`{order.reference}`)."]
            detail += [f"**Caution for this patient:** {w.message} (rule `{w.rule}`)" for w in cautions]
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
