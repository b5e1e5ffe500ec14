"""The person's voice: placeholders in the text people read, and what must never reach it.

The catalogue speaks in two voices. ``title``, ``advice`` and ``cautions``
(and a rule's withhold ``reason`` and caution ``message``) are read by the
person with the back pain: plain words, no citations, no notes for
reviewers. ``because`` and ``evidence`` are for the clinician.

Person-facing text may hold one placeholder, ``{emergency_number}``, which
becomes the emergency number of the chosen region followed by "or your local
emergency number" (``999 (or your local emergency number)``), or just "your
local emergency number" when the knowledge base names no region.
:func:`reviewer_vocabulary` finds the words that mark a note for reviewers.
"""

from __future__ import annotations

import re

from spasm_advisor.errors import UnknownRegionError
from spasm_advisor.kb.model import KnowledgeBase, Region

__all__ = [
    "LOCAL_NUMBER",
    "PLACEHOLDERS",
    "emergency_phrase",
    "fill",
    "person_texts",
    "placeholders_in",
    "resolve_region",
    "reviewer_vocabulary",
]

#: The placeholders person-facing text may use.
PLACEHOLDERS: tuple[str, ...] = ("emergency_number",)
#: What is said when no number is known, and after every number (a region may be wrong).
LOCAL_NUMBER = "your local emergency number"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders_in(text: str) -> list[str]:
    """The names between braces in ``text`` (known or not), in order."""
    return _PLACEHOLDER.findall(text)


def resolve_region(kb: KnowledgeBase, region: str | None) -> Region | None:
    """The region called ``region``, else the knowledge base's default (None if it names none).

    Raises:
        UnknownRegionError: ``region`` is not one the knowledge base defines.
    """
    if region is None:
        return kb.regions.get(kb.default_region) if kb.default_region else None
    found = kb.regions.get(region.lower())
    if found is None:
        known = ", ".join(kb.regions) or "none"
        raise UnknownRegionError(f"unknown region {region!r} (this knowledge base knows: {known})")
    return found


def emergency_phrase(region: Region | None) -> str:
    """``999 (or your local emergency number)``, or ``your local emergency number``."""
    if region is None:
        return LOCAL_NUMBER
    return f"{region.emergency_number} (or {LOCAL_NUMBER})"


def fill(text: str, region: Region | None) -> str:
    """``text`` with its placeholders filled in for ``region``."""
    if "{" not in text:
        return text
    return text.replace("{emergency_number}", emergency_phrase(region))


def person_texts(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """Every person-facing text of ``kb`` as ``(where, text)``: questions, help, catalogue, reasons, messages.

    A fact without ``help`` contributes its ``description``: the interview
    shows it as the help text.
    """
    texts: list[tuple[str, str]] = []
    for fact in kb.facts.values():
        texts.append((f"{fact.path}:{fact.line}: fact '{fact.id}' question", fact.question))
        if fact.child_question:
            texts.append((f"{fact.path}:{fact.line}: fact '{fact.id}' child question", fact.child_question))
        if fact.help:
            texts.append((f"{fact.path}:{fact.line}: fact '{fact.id}' help", fact.help))
        elif fact.description:
            # The interview explains a question without help text with its description.
            texts.append((f"{fact.path}:{fact.line}: fact '{fact.id}' description (shown as help)", fact.description))
    for rec in kb.recommendations.values():
        where = f"{rec.path}:{rec.line}: recommendation '{rec.id}'"
        texts.append((f"{where} title", rec.title))
        if rec.withheld_title:
            texts.append((f"{where} withheld title", rec.withheld_title))
        texts.append((f"{where} advice", rec.advice))
        texts.extend((f"{where} caution", caution) for caution in rec.cautions)
    for rule in kb.rules:
        for action in rule.actions:
            if action.text:
                texts.append((f"{rule.path}:{rule.line}: rule '{rule.id}' {action.kind} text", action.text))
    return texts


# Notes for reviewers: verification status, where a wording came from, how a
# number was obtained, edit history ("Added fact."), and citations in
# brackets (a year, a recommendation number, a label). None of it helps a
# person decide what to do.
_REVIEWER_WORDS = re.compile(
    r"\[unverified\]|\bunverified\b|\bverified\b|\bseed article\b|\brecalled\b|\bsecondary\b"
    r"|\bconvention\b|\bOTC label\b|\bEMA\b|\badded fact\b|\bfact added\b|\bnew fact\b",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\([^()]*(?:\b(?:19|20)\d\d\b|\bNG\d+|\bR\d\b|\d+\.\d+\.\d+|\blabel\b)[^()]*\)")
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def reviewer_vocabulary(text: str, kb: KnowledgeBase | None = None) -> list[str]:
    """The pieces of ``text`` that belong to reviewers, not to the person (empty when none).

    Finds verification notes (``[unverified]``, "secondary", "recalled",
    "convention"), edit history ("Added fact."), mentions of the seed article, citations in brackets (a
    year, a guideline or recommendation number, a label), and identifiers:
    snake_case names (every fact, finding, catalogue, rule and source id of
    the bundled knowledge base is one), and with ``kb`` its rule and source
    ids whatever their form.
    """
    text = _PLACEHOLDER.sub(lambda m: "" if m.group(1) in PLACEHOLDERS else m.group(0), text)
    found = [m.group(0) for m in _REVIEWER_WORDS.finditer(text)]
    found += [m.group(0) for m in _CITATION.finditer(text)]
    found += [m.group(0) for m in _IDENTIFIER.finditer(text)]
    if kb is not None:
        words = set(re.findall(r"\b[A-Za-z0-9_]+\b", text))
        found += sorted(words & (set(kb.sources) | set(kb.rule_index)))
    return list(dict.fromkeys(found))
