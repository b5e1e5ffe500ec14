"""A guided interview: which question to ask next, and which can be skipped.

No input or output happens here (``cli.py`` prompts); this module decides.

**Order.** Questions follow ``knowledge/facts.yaml`` grouped by role, in
clinical order: red flags, then the course and severity (``context``), then
signs, causes and known conditions, then cautions and preferences. Among the
red flags, those that can make the triage *emergency* come first, fewest
other answers needed first: the order is derived from the rules by
expanding each rule that sets ``triage: emergency`` through the findings it
reads down to input facts (so with the bundled rules the cauda equina signs,
each enough on its own, are asked before anything else).

**Stopping.** As soon as the answers so far make some rule that sets
``triage: emergency`` certain to fire, whatever the remaining answers, the
interview stops: nothing said later can lower the triage. When an answer
makes an emergency rule possible except for an exception it reads as an
absent finding (symptoms in both legs, unless long-standing and unchanged in
known stenosis), the questions that decide the exception are asked next.

**"Don't know".** A fact with ``dont_know_for`` records a "don't know" to its
question and is never asked itself: :func:`with_dont_know` sets it when the
question is answered, and the saved case says ``dont_know`` for it.

**Skipping.** A question is skipped when its answer *cannot change the
result*. The result here is the set of rules that fire (which fixes the
triage, the recommendations, the withheld items, the warnings and the
findings) together with the list of unanswered red flags. So red flags are
never skipped (leaving one unanswered changes that list) until the
interview stops for an emergency. For any other fact the test is
three-valued, over every way the unasked questions could still be answered
(any value, or "don't know"):

* a literal of a rule branch is *true* or *false* when the answers so far
  decide it whatever comes next, else *open*; a literal on an unasked fact is
  open; a finding is certainly derived when some rule deriving it certainly
  fires, certainly not when every such rule certainly does not, else open
  (computed to a fixpoint, so positive cycles stay open: the safe side);
* a rule certainly fires when one of its branches is true, certainly does
  not when all are false, and is *undecided* otherwise;
* a fact is *relevant* when it appears in a branch that is not false of an
  undecided rule.

If a fact is not relevant, then under every completion of the other unasked
facts the fired rules are the same whatever it is answered: decided rules
are decided regardless; an undecided rule's false branches stay false and
its other branches do not mention the fact; findings are computed from those
same branches in strata, so they cannot depend on it either. The test is
sound but not complete: it may keep a question that in fact could not
change anything, never the reverse. More answers only decide more literals,
so a skipped question never becomes relevant again (``back`` can make it so,
and then it is asked). Within a rule that fires either way, the explanation
may cite a different branch of that rule than a full questionnaire would;
``fired_rules`` lists the same rules, possibly in a different order.

``Interview.remaining()`` counts the relevant questions not yet asked: an
upper bound on how many are left, since later answers can make more skippable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import yaml

from spasm_advisor.errors import AnswerError, brief
from spasm_advisor.io.case import DONT_KNOW, validate_case
from spasm_advisor.kb.conditions import (
    PARTIAL,
    Condition,
    FactTerm,
    FindingRef,
    Literal_,
    Logic,
    Value,
    encode,
    holds_unanswered,
    literal_truth,
)
from spasm_advisor.kb.model import TRIAGE_LEVELS, FactSpec, KnowledgeBase, RuleSpec

__all__ = [
    "BOOLEAN_REASK",
    "ROLE_GROUPS",
    "ROLE_GROUP_TITLES",
    "AnswerError",
    "Interview",
    "Reply",
    "answer_hint",
    "case_yaml",
    "emergency_distance",
    "group_of",
    "help_text",
    "parse_reply",
    "question_order",
    "raising_questions",
    "relevant_facts",
    "with_dont_know",
]

#: Question groups in asking order, by fact role.
ROLE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("red_flag",),
    ("context",),
    ("sign", "cause", "condition"),
    ("caution", "preference"),
)
#: What each group is about, for the progress line.
ROLE_GROUP_TITLES: tuple[str, ...] = (
    "warning signs",
    "the pain and how long it has lasted",
    "the spasm, its causes and known conditions",
    "medicines, health and preferences",
)

_TRUE, _FALSE, _OPEN = 1, 0, -1
_EXPANSION_CAP = 4096

# Everyday answers are accepted where they can mean only one thing; "maybe" and
# "sometimes" could mean yes or no, so they are asked again.
_YES = {"y", "yes", "true", "yeah", "yep", "yes please"}
_NO = {"n", "no", "false", "nope", "nah"}
_UNKNOWN = {
    "?",
    "dk",
    "idk",
    "don't know",
    "dont know",
    "do not know",
    "i don't know",
    "i dont know",
    "i do not know",
    "not sure",
    "i'm not sure",
    "im not sure",
    "i am not sure",
    "unsure",
    "no idea",
    "unknown",
    "skip",
}
#: Boolean questions' re-ask: what to type, without repeating what was typed.
BOOLEAN_REASK = "Please answer yes, no or don't know (if you are not sure, type don't know)."
_BACK = {"back", "b", "<"}
_HELP = {"help", "h"}


# --- question order ------------------------------------------------------------


def emergency_distance(kb: KnowledgeBase) -> dict[str, int]:
    """For each fact that can lead to ``triage: emergency``, the fewest facts needed together.

    Each rule setting the emergency triage is expanded, through the findings
    its branches read positively, into sets of input facts that together make
    it fire; a fact's distance is the size of the smallest such set holding it
    (1: enough on its own). Facts that cannot lead to an emergency are absent.
    """
    derivers = kb.derivers()
    memo: dict[str, list[frozenset[str]]] = {}

    def finding(name: str, visiting: frozenset[str]) -> list[frozenset[str]]:
        if name in memo:
            return memo[name]
        out: list[frozenset[str]] = []
        for rule in derivers.get(name, ()):
            for conj in rule.dnf:
                out.extend(branch(conj, visiting | {name}))
        memo[name] = out[:_EXPANSION_CAP]
        return memo[name]

    def branch(conj: tuple[Literal_, ...], visiting: frozenset[str]) -> list[frozenset[str]]:
        partial = [frozenset[str]()]
        for lit in conj:
            if isinstance(lit, FindingRef):
                if lit.negated:
                    continue  # an absence needs no answer
                if lit.name in visiting:
                    return []  # a cycle adds no way to fire
                alternatives = finding(lit.name, visiting)
                partial = [p | a for p in partial for a in alternatives][:_EXPANSION_CAP]
            elif holds_unanswered(lit):
                continue  # true with no answer ("is unknown"): needs none
            else:
                partial = [p | {lit.name} for p in partial]
        return partial

    distance: dict[str, int] = {}
    for rule in kb.rules:
        if not any(a.kind == "triage" and a.target == "emergency" for a in rule.actions):
            continue
        for conj in rule.dnf:
            for facts in branch(conj, frozenset()):
                for name in facts:
                    distance[name] = min(distance.get(name, len(facts)), len(facts))
    return distance


def group_of(spec: FactSpec) -> int:
    """The index in :data:`ROLE_GROUPS` of the group a question belongs to (last group for other roles)."""
    for i, roles in enumerate(ROLE_GROUPS):
        if spec.role in roles:
            return i
    return len(ROLE_GROUPS) - 1


def question_order(kb: KnowledgeBase) -> tuple[str, ...]:
    """Every question of ``kb`` in asking order (see the module documentation).

    Facts that record a "don't know" answer (``dont_know_for``) are not
    questions: the answer to their question sets them. Worked out once per
    knowledge base.
    """
    return kb.derived("interview.question_order", _question_order)


def _question_order(kb: KnowledgeBase) -> tuple[str, ...]:
    distance = emergency_distance(kb)
    position = {name: i for i, name in enumerate(kb.facts)}
    group = {role: i for i, roles in enumerate(ROLE_GROUPS) for role in roles}
    unreachable = len(kb.facts) + 1

    def key(name: str) -> tuple[int, int, int]:
        spec = kb.facts[name]
        rank = group.get(spec.role, len(ROLE_GROUPS))
        near = distance.get(name, unreachable) if spec.role == "red_flag" else 0
        return (rank, near, position[name])

    return tuple(sorted((name for name in kb.facts if kb.facts[name].dont_know_for is None), key=key))


def with_dont_know(kb: KnowledgeBase, answers: Mapping[str, Value | None]) -> dict[str, Value | None]:
    """The answers plus the facts recording "don't know", as a case would hold them.

    Once its question is asked, a recording fact is decided: true when the
    answer was "don't know", otherwise left unknown (``None``), exactly as
    :func:`~spasm_advisor.io.case.validate_case` reads the saved case.
    """
    out = dict(answers)
    for question, recorder in kb.dont_know_facts().items():
        if question in answers:
            out[recorder] = True if answers[question] is None else None
    return out


# --- what can still change -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outlook:
    rule_status: Mapping[str, int]
    relevant: frozenset[str]
    emergency: tuple[RuleSpec, ...]
    branch_status: Mapping[str, list[int]]
    findings: Mapping[str, int]
    follow_ups: frozenset[str] = frozenset()


class _AnswersSoFar:
    """The answers so far as a world of the condition language, in the partial logic.

    An asked fact is answered (a value) or unknown ("don't know"), for good;
    an unasked fact and an undecided finding are open (None).
    """

    logic: Logic[bool | None] = PARTIAL

    def __init__(self, asked: Mapping[str, Value | None], findings: Mapping[str, int]) -> None:
        self.asked = asked
        self.findings = findings  # read live: the fixpoint decides more of them as it goes
        self._terms: dict[str, FactTerm[bool | None]] = {}

    def fact(self, name: str) -> FactTerm[bool | None]:
        term = self._terms.get(name)
        if term is None:
            value = self.asked.get(name)
            term = self._terms[name] = FactTerm(value is not None if name in self.asked else None, value)
        return term

    def finding(self, name: str) -> bool | None:
        status = self.findings.get(name, _FALSE)
        return None if status == _OPEN else status == _TRUE

    def given(self, rec: str) -> bool:
        raise TypeError("rule conditions have no outcome atoms")

    withheld = given

    def triage_rank(self) -> int:
        raise TypeError("rule conditions have no outcome atoms")


def _status(cond: Condition, world: _AnswersSoFar) -> int:
    """Whether the condition holds (true), cannot hold (false) or is open, whatever the open answers are."""
    holds = encode(cond, world)[0]
    return _OPEN if holds is None else _TRUE if holds else _FALSE


def _branch_status(conj: tuple[Literal_, ...], world: _AnswersSoFar) -> int:
    """:func:`_status` of one branch (a conjunction of literals), without building it."""
    holds = PARTIAL.conj(literal_truth(lit, world) for lit in conj)
    return _OPEN if holds is None else _TRUE if holds else _FALSE


@dataclass(frozen=True, slots=True)
class _Statuses:
    rule_status: Mapping[str, int]
    branch_status: Mapping[str, list[int]]
    findings: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class _RuleSet:
    """Rules closed under "the rules deriving a finding one of them reads", indexed for :func:`_decide`."""

    rules: tuple[RuleSpec, ...]
    findings: tuple[str, ...]  # every finding the rules read, and with all rules every finding
    readers: Mapping[str, tuple[RuleSpec, ...]]
    position: Mapping[str, int]

    @classmethod
    def of(cls, rules: Sequence[RuleSpec], findings: Iterable[str]) -> _RuleSet:
        readers: dict[str, list[RuleSpec]] = {}
        for rule in rules:
            for name in rule.findings_read():
                readers.setdefault(name, []).append(rule)
        return cls(
            tuple(rules),
            tuple(findings),
            {name: tuple(found) for name, found in readers.items()},
            {rule.id: i for i, rule in enumerate(rules)},
        )


def _all_rules(kb: KnowledgeBase) -> _RuleSet:
    return _RuleSet.of(kb.rules, kb.findings)


def _decide(
    ruleset: _RuleSet, asked: Mapping[str, Value | None], derivers: Mapping[str, Sequence[RuleSpec]]
) -> _Statuses:
    """The status of each rule, branch and finding of ``ruleset``, to the fixpoint, given the answers so far."""
    findings = dict.fromkeys(ruleset.findings, _OPEN)
    rule_status: dict[str, int] = {}
    branch_status: dict[str, list[int]] = {}
    world = _AnswersSoFar(asked, findings)
    readers, position = ruleset.readers, ruleset.position
    # Every rule once; after that only the rules that read a finding just decided (a rule's status
    # depends on nothing else), and only the findings those rules derive. Statuses only ever go from
    # open to decided, so this ends, at the fixpoint re-evaluating every rule each round would reach.
    todo: list[RuleSpec] = list(ruleset.rules)
    to_check: list[str] = list(findings)  # at first every finding, those no rule derives included
    while todo:
        for rule in todo:
            statuses = [_branch_status(conj, world) for conj in rule.dnf]
            branch_status[rule.id] = statuses
            rule_status[rule.id] = (
                _TRUE if _TRUE in statuses else _FALSE if all(s == _FALSE for s in statuses) else _OPEN
            )
        decided = []
        for name in to_check:
            if findings.get(name) != _OPEN:
                continue
            of_derivers = [rule_status[r.id] for r in derivers.get(name, ())]
            new = _TRUE if _TRUE in of_derivers else _FALSE if all(s == _FALSE for s in of_derivers) else _OPEN
            if new != _OPEN:
                findings[name] = new
                decided.append(name)
        again = {rule.id: rule for name in decided for rule in readers.get(name, ())}
        todo = sorted(again.values(), key=lambda rule: position[rule.id])
        to_check = list(dict.fromkeys(name for rule in todo for name in rule.derives))
    return _Statuses(rule_status, branch_status, findings)


def _outlook(
    kb: KnowledgeBase,
    asked: Mapping[str, Value | None],
    derivers: Mapping[str, Sequence[RuleSpec]],
) -> _Outlook:
    decided = _decide(kb.derived("interview.all_rules", _all_rules), asked, derivers)
    rule_status, branch_status, findings = decided.rule_status, decided.branch_status, decided.findings
    relevant = {name for name in kb.facts if kb.facts[name].is_red_flag and name not in asked}
    for rule in kb.rules:
        if rule_status[rule.id] != _OPEN:
            continue
        for conj, status in zip(rule.dnf, branch_status[rule.id], strict=True):
            if status != _FALSE:
                relevant.update(lit.name for lit in conj if not isinstance(lit, FindingRef) and lit.name not in asked)
    relevant -= set(kb.dont_know_facts().values())  # set by their question, never asked
    emergency = tuple(
        rule
        for rule in kb.rules
        if rule_status[rule.id] == _TRUE and any(a.kind == "triage" and a.target == "emergency" for a in rule.actions)
    )
    follow_ups = _exception_follow_ups(kb, _AnswersSoFar(asked, findings), findings, branch_status, derivers)
    return _Outlook(
        rule_status, frozenset(relevant), emergency, branch_status, findings, frozenset(follow_ups & relevant)
    )


def _exception_follow_ups(
    kb: KnowledgeBase,
    world: _AnswersSoFar,
    findings: Mapping[str, int],
    branch_status: Mapping[str, list[int]],
    derivers: Mapping[str, Sequence[RuleSpec]],
) -> set[str]:
    """Unasked facts that decide an exception standing between an answer and an emergency.

    A branch is *triggered* when it is still open and either has a literal
    already true or reads a finding (still open) with a triggered deriving
    branch. On the triggered branches of undecided emergency rules, an open
    *negated* finding is an exception (for example long-standing, unchanged
    leg symptoms in known stenosis); the unasked facts of the branches that
    could derive it are the follow-up questions, asked next so that the
    emergency is confirmed, or ruled out, at once.
    """
    out: set[str] = set()

    def triggered(conj: tuple[Literal_, ...], depth: int) -> bool:
        for lit in conj:
            truth = literal_truth(lit, world)
            if truth is True:
                return True
            if isinstance(lit, FindingRef) and not lit.negated and truth is None and depth < 6:
                for rule in derivers.get(lit.name, ()):
                    for sub, sub_status in zip(rule.dnf, branch_status[rule.id], strict=True):
                        if sub_status == _OPEN and triggered(sub, depth + 1):
                            return True
        return False

    def collect(conj: tuple[Literal_, ...], depth: int) -> None:
        for lit in conj:
            if not isinstance(lit, FindingRef) or findings.get(lit.name) != _OPEN or depth >= 6:
                continue
            for rule in derivers.get(lit.name, ()):
                for sub, sub_status in zip(rule.dnf, branch_status[rule.id], strict=True):
                    if sub_status != _OPEN:
                        continue
                    if lit.negated:
                        out.update(x.name for x in sub if not isinstance(x, FindingRef) and x.name not in world.asked)
                    elif triggered(sub, depth + 1):
                        collect(sub, depth + 1)

    for rule in kb.rules:
        if not any(a.kind == "triage" and a.target == "emergency" for a in rule.actions):
            continue
        for conj, status in zip(rule.dnf, branch_status[rule.id], strict=True):
            if status == _OPEN and triggered(conj, 0):
                collect(conj, 0)
    return out


def relevant_facts(kb: KnowledgeBase, asked: Mapping[str, Value | None]) -> frozenset[str]:
    """The unasked facts whose answer could still change the result (see the module documentation).

    ``asked`` maps each question asked to its answer, ``None`` for "don't know".
    """
    return _outlook(kb, with_dont_know(kb, asked), kb.derivers()).relevant


def _raising_rules(kb: KnowledgeBase, level: str) -> tuple[tuple[tuple[RuleSpec, int], ...], _RuleSet]:
    """The rules setting a level above ``level`` (with that level's rank), and what they need.

    What they need: those rules and every rule deriving a finding one of
    them reads, down to input facts (only their statuses matter here).
    """
    rank = TRIAGE_LEVELS.index(level)
    seeds = tuple(
        (rule, max(levels))
        for rule in kb.rules
        if (levels := [TRIAGE_LEVELS.index(a.target) for a in rule.actions if a.kind == "triage"])
        and max(levels) > rank
    )
    derivers = kb.derivers()
    needed: set[str] = set()
    todo = [rule for rule, _ in seeds]
    while todo:
        rule = todo.pop()
        if rule.id not in needed:
            needed.add(rule.id)
            todo.extend(other for name in rule.findings_read() for other in derivers.get(name, ()))
    rules = [rule for rule in kb.rules if rule.id in needed]
    return seeds, _RuleSet.of(rules, dict.fromkeys(name for rule in rules for name in rule.findings_read()))


def raising_questions(kb: KnowledgeBase, asked: Mapping[str, Value | None], level: str) -> dict[str, str]:
    """The unasked facts whose answer could still raise the triage above ``level``.

    Each maps to the highest level it could lead to. A fact counts when it
    appears in a branch that is not false of a rule that is undecided and
    sets a higher level, or of an undecided rule deriving an open finding
    such a branch needs (followed down to input facts). Like
    :func:`relevant_facts` this is sound, not complete: a fact listed might
    in fact not matter, one left out cannot.
    """
    seeds, ruleset = kb.derived(f"interview.raising.{level}", lambda kb: _raising_rules(kb, level))
    if not seeds:  # nothing sets a higher level (an emergency already): nothing can raise it
        return {}
    derivers = kb.derivers()
    asked = with_dont_know(kb, asked)
    outlook = _decide(ruleset, asked, derivers)
    found: dict[str, int] = {}

    def visit(rule: RuleSpec, target: int, seen: set[str]) -> None:
        for conj, status in zip(rule.dnf, outlook.branch_status[rule.id], strict=True):
            if status == _FALSE:
                continue
            for lit in conj:
                if isinstance(lit, FindingRef):
                    if outlook.findings.get(lit.name) != _OPEN or lit.name in seen:
                        continue
                    seen.add(lit.name)
                    for other in derivers.get(lit.name, ()):
                        if outlook.rule_status[other.id] == _OPEN:
                            visit(other, target, seen)
                elif lit.name not in asked:
                    found[lit.name] = max(found.get(lit.name, 0), target)

    for rule, target in seeds:
        if outlook.rule_status[rule.id] == _OPEN:
            visit(rule, target, set())
    order = {name: i for i, name in enumerate(kb.facts)}
    return {name: TRIAGE_LEVELS[found[name]] for name in sorted(found, key=order.__getitem__)}


# --- answers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """What a typed reply means: an ``answer`` (``value`` None for don't know), ``back`` or ``help``."""

    kind: Literal["answer", "back", "help"]
    value: Value | None = None


def answer_hint(spec: FactSpec) -> str:
    """The answers a question takes, for the prompt: ``yes / no / don't know``."""
    if spec.type == "boolean":
        return "yes / no / don't know"
    if spec.type == "enum":
        replies = [reply for reply, _ in spec.answers] or list(spec.values)
        return " / ".join(replies) + " / don't know"
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.maximum is not None:
        return f"{spec.minimum if spec.minimum is not None else 0}-{spec.maximum}{unit} / don't know"
    low = spec.minimum if spec.minimum is not None else 0
    return f"a whole number{' of' + unit if unit else ''}, {low} or more / don't know"


def _expected(spec: FactSpec) -> str:
    if spec.type == "boolean":
        return "answer yes, no or don't know"
    if spec.type == "enum":
        if spec.answers:
            replies = " or ".join(reply for reply, _ in spec.answers)
            return f"answer {replies} (or one of {', '.join(spec.values)}), or don't know"
        return f"answer one of {', '.join(spec.values)}, or don't know"
    if spec.maximum is not None:
        low = spec.minimum if spec.minimum is not None else 0
        return f"answer a whole number from {low} to {spec.maximum}, or don't know"
    return f"answer a whole number, {spec.minimum if spec.minimum is not None else 0} or more, or don't know"


def parse_reply(spec: FactSpec, text: str) -> Reply:
    """Read one typed reply to the question on ``spec``.

    Accepts yes/y/no/n (yes/no facts), a whole number in range (integer
    facts), a choice by name or number (enum facts, any case) or by one of
    its natural answers (``answers:``, e.g. yes for ``poor``), don't
    know/dk/?/skip (the fact stays unknown), ``back`` and ``help``.

    Raises:
        AnswerError: naming what was typed and what the question takes.
    """
    # Case, spacing, a curly apostrophe and a full stop or exclamation mark at the end ("No.") do not matter.
    said = " ".join(text.replace("\u2019", "'").split()).lower().rstrip(".!").rstrip()
    if not said:
        raise AnswerError(f"Please type an answer: {_expected(spec)} (or 'back', 'help').")
    if said in _BACK:
        return Reply("back")
    if said in _HELP:
        return Reply("help")
    if said in _UNKNOWN:
        return Reply("answer", None)
    shown = brief(text.strip(), 40)
    if spec.type == "boolean":
        if said in _YES:
            return Reply("answer", True)
        if said in _NO:
            return Reply("answer", False)
        raise AnswerError(BOOLEAN_REASK)
    if spec.type == "integer":
        match = re.fullmatch(r"[+-]?[0-9]{1,12}", said)
        if match is None:
            raise AnswerError(f"{shown} is not a whole number: {_expected(spec)}.")
        number = int(said)
        if spec.minimum is not None and number < spec.minimum:
            raise AnswerError(f"{number} is below the minimum {spec.minimum}: {_expected(spec)}.")
        if spec.maximum is not None and number > spec.maximum:
            raise AnswerError(f"{number} is above the maximum {spec.maximum}: {_expected(spec)}.")
        return Reply("answer", number)
    choice = said.replace(" ", "_").replace("-", "_")
    for value in spec.values:
        if choice == value.lower():
            return Reply("answer", value)
    natural = dict(spec.answers)
    if said in natural:
        return Reply("answer", natural[said])
    if spec.answers and (said in _YES or said in _NO):
        # 'y' for 'yes' and 'n' for 'no', when the question takes yes or no.
        for reply, value in spec.answers:
            if (reply in _YES and said in _YES) or (reply in _NO and said in _NO):
                return Reply("answer", value)
    if re.fullmatch(r"[0-9]{1,3}", said) and 1 <= int(said) <= len(spec.values):
        return Reply("answer", spec.values[int(said) - 1])
    raise AnswerError(f"{shown} is not one of the choices: {_expected(spec)}.")


def help_text(spec: FactSpec, *, records_dont_know: bool = False) -> str:
    """What a question is about and how to answer it, in plain words (shown for ``help``).

    The fact's lay ``help`` text; a knowledge base without one falls back
    to the clinical ``description``. ``records_dont_know``: the knowledge
    base records a "don't know" to this question (the sign then cannot be
    ruled out, and the advice says so).
    """
    unknown = (
        "Not sure? Then say so: 'don't know' (or dk, ?, skip) is recorded, so this sign cannot be ruled out, "
        "and you will be advised to be checked today."
        if records_dont_know
        else "Not sure? Then type 'don't know' (or dk, ?, skip): that leaves it unknown, and we never take it as a no."
    )
    return (
        f"{spec.help or spec.description}\n"
        f"Answers: {answer_hint(spec)}.\n{unknown}\n"
        "Type 'back' to change the previous answer; Ctrl-C leaves without a report."
    )


# --- the interview -------------------------------------------------------------


class Interview:
    """The state of one interview: answers so far, in order, and what to ask next.

    Example:
        >>> interview = Interview(kb)
        >>> spec = interview.current()          # the next question, or None when done
        >>> interview.answer(spec.id, True)     # None means "don't know"
        >>> interview.back()                    # undo the last answer
    """

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        """Start an interview over ``knowledge_base`` with no answers."""
        self.knowledge_base = knowledge_base
        self.order = question_order(knowledge_base)
        self._derivers = knowledge_base.derivers()
        self._answers: dict[str, Value | None] = {}
        self._outlook = _outlook(knowledge_base, self._answers, self._derivers)

    def _update(self) -> None:
        answers = with_dont_know(self.knowledge_base, self._answers)
        self._outlook = _outlook(self.knowledge_base, answers, self._derivers)

    @property
    def answers(self) -> dict[str, Value | None]:
        """Every question asked so far, in asking order, with its answer (None: don't know)."""
        return dict(self._answers)

    @property
    def stopped_for_emergency(self) -> bool:
        """Whether the answers so far already make the triage emergency, whatever comes next."""
        return bool(self._outlook.emergency)

    @property
    def emergency_rules(self) -> tuple[RuleSpec, ...]:
        """The rules setting the emergency triage that are certain to fire."""
        return self._outlook.emergency

    def relevant(self) -> frozenset[str]:
        """The facts not yet asked whose answer could still change the result."""
        return self._outlook.relevant

    def current(self) -> FactSpec | None:
        """The next question to ask, or None when the interview is over."""
        if self.stopped_for_emergency:
            return None
        # The questions that could confirm or rule out a possible emergency come first.
        for wanted in (self._outlook.follow_ups, self._outlook.relevant):
            for name in self.order:
                if name not in self._answers and name in wanted:
                    return self.knowledge_base.facts[name]
        return None

    def is_follow_up(self, spec: FactSpec) -> bool:
        """Whether ``spec`` is asked out of its place, to confirm or rule out a possible emergency.

        Such a question (the stenosis questions after a yes to symptoms in both legs) may belong to a
        later part of the interview; it is asked at once, and the part being asked goes on after it.
        """
        return spec.id in self._outlook.follow_ups and spec.id not in self._answers

    def remaining(self) -> int:
        """How many questions are left at most, counting the current one (0 when over)."""
        if self.stopped_for_emergency:
            return 0
        return sum(1 for name in self._outlook.relevant if name not in self._answers)

    @property
    def finished(self) -> bool:
        """Whether there is nothing left to ask."""
        return self.current() is None

    def answer(self, fact: str, value: Value | None) -> None:
        """Record the answer to ``fact`` (None: don't know).

        Raises:
            CaseError: if ``fact`` is not a fact or the value does not fit it.
        """
        validate_case({fact: value}, self.knowledge_base)
        self._answers.pop(fact, None)
        self._answers[fact] = value
        self._update()

    def back(self) -> str | None:
        """Undo the most recent answer; return its fact (asked again next), or None if there was none."""
        if not self._answers:
            return None
        fact = next(reversed(self._answers))
        del self._answers[fact]
        self._update()
        return fact

    def case(self) -> dict[str, Value]:
        """The answered facts, as a case for :meth:`~spasm_advisor.Advisor.assess`.

        A "don't know" is left out (unknown), except for the questions whose
        "don't know" the knowledge base records: their recording fact is true.
        """
        answers = with_dont_know(self.knowledge_base, self._answers)
        return {name: value for name, value in answers.items() if value is not None}


def case_yaml(answers: Mapping[str, Value | None], kb: KnowledgeBase, *, complete: bool = True) -> str:
    """A case file (YAML) holding ``answers`` in vocabulary order; ``null`` records a "don't know".

    ``spasm-advisor assess`` reads it back to exactly the same case.
    """
    recorded = kb.dont_know_facts()
    ordered: dict[str, Value | None] = {
        name: DONT_KNOW if answers[name] is None and name in recorded else answers[name]
        for name in kb.facts
        if name in answers
    }
    header = [
        "# A case written by 'spasm-advisor interview'.",
        '# null (or dont_know) means the question was answered "don\'t know"; facts not listed were not asked.',
    ]
    if not complete:
        header.append("# The interview was not finished: only the questions answered so far are here.")
    body = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, default_flow_style=False) if ordered else "{}\n"
    return "\n".join(header) + "\n" + body
