"""The condition language: the one place that says what a condition means.

Everything that reads, runs, proves or explains a condition derives its
meaning from this module: the loader (syntax and name resolution), the
experta compiler and the reference interpreter (concrete evaluation), the z3
encoding (:func:`encode` over solver formulas), the interview ("can this
question still matter", :func:`encode` over partial answers), invariant
checking, why-not, diff and verify. No other module interprets an operator.

**Syntax.** A condition is a string atom (``numbness``, ``age >= 50``,
``posture == poor``, ``fever is unknown``) or a mapping with one key, ``all``,
``any`` or ``not``. Invariants add three atoms about the outcome:
``triage OP LEVEL``, ``recommends REC_ID`` (or ``recommends any CATEGORY``)
and ``withholds REC_ID``. Parsing uses a whitelist; nothing is ever evaluated
as Python.

**Operators.** :data:`OPERATORS` is the only table of operators: each has
its complement (the negation of ``a < b`` on a known value is ``a >= b``), the
function it applies (the same function on Python values and on solver terms)
and, for integers, where it splits the number line.

**Three values.** A fact has a value or is unknown. A comparison on an
unknown fact is neither true nor false (Kleene logic), so ``not numbness``
holds only when numbness was answered no, and ``posture != slouched`` only when
posture was answered. ``x is known`` / ``x is unknown`` are two-valued.
Findings are two-valued: derived or not (rules are stratified, so a finding
is complete before its absence is read). A rule fires when its condition is
*true*; "not false" is not enough. :func:`encode` is the definition, over
any Boolean algebra, as a pair (definitely true, definitely false):
:func:`truth` is it over Python truth values, the z3 encoding is it over
solver formulas, and the interview's "can this question still matter" is it
over :data:`PARTIAL` truth values, where an unasked question is still open.

**Names.** A bare name is a yes/no fact (``numbness`` means
``numbness == true``) or a finding; :func:`resolve` decides which and checks
every comparison against the fact's domain.

**Assembly.** What fired rules conclude (:class:`Conclusions`): the highest
triage any fired rule sets wins (``self_care`` when none sets one); a
recommendation is given when some fired rule recommends it and no fired rule
withholds it (withhold beats recommend); a caution attaches to a given
recommendation; a finding holds when some rule deriving it fires.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import ConditionNameError, ConditionSyntaxError

__all__ = [
    "ACTION_KINDS",
    "OPERATORS",
    "PARTIAL",
    "PYTHON",
    "TRIAGE_LEVELS",
    "All",
    "Any_",
    "Comparison",
    "Conclusions",
    "Condition",
    "ConditionNameError",
    "ConditionSyntaxError",
    "Decision",
    "FactTerm",
    "FindingRef",
    "Known",
    "Literal_",
    "Logic",
    "Name",
    "Not",
    "Operator",
    "Recommends",
    "RecommendsAny",
    "TriageAtom",
    "Value",
    "Withholds",
    "World",
    "any_fact_test",
    "cut_points",
    "dnf_size",
    "encode",
    "evaluate",
    "fact_test",
    "finite_domain",
    "holds",
    "holds_on_absence",
    "holds_unanswered",
    "literal_holds",
    "literal_truth",
    "negate_literal",
    "negation_normal_form",
    "parse_condition",
    "render",
    "render_value",
    "resolve",
    "to_dnf",
    "triage_rank",
    "truth",
]

Value: TypeAlias = bool | int | str
OperatorSymbol = Literal["==", "!=", "<", "<=", ">", ">="]

#: Triage levels, lowest first: the highest level a fired rule sets wins.
TRIAGE_LEVELS: tuple[str, ...] = ("self_care", "routine", "urgent", "emergency")
#: What a rule can conclude.
ACTION_KINDS: tuple[str, ...] = ("derive", "triage", "recommend", "withhold", "caution")


def triage_rank(level: str) -> int:
    """0 for ``self_care`` up to 3 for ``emergency``."""
    return TRIAGE_LEVELS.index(level)


# --- operators -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operator:
    """One comparison operator.

    Attributes:
        symbol: how it is written.
        complement: the operator that holds exactly when this one fails (on a known value).
        apply: the comparison itself; the same function serves Python values and solver terms.
        ordering: whether it orders values (integers only) rather than testing equality.
        cuts: where ``x OP c`` splits the integers: the points ``p`` at which the truth of
            the comparison can change between ``p - 1`` and ``p``.
    """

    symbol: OperatorSymbol
    complement: OperatorSymbol
    apply: Callable[[Any, Any], Any]
    ordering: bool
    cuts: Callable[[int], tuple[int, ...]]


#: The operator table: every meaning of ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.
OPERATORS: Mapping[str, Operator] = {
    "==": Operator("==", "!=", operator.eq, False, lambda c: (c, c + 1)),
    "!=": Operator("!=", "==", operator.ne, False, lambda c: (c, c + 1)),
    "<": Operator("<", ">=", operator.lt, True, lambda c: (c,)),
    ">=": Operator(">=", "<", operator.ge, True, lambda c: (c,)),
    "<=": Operator("<=", ">", operator.le, True, lambda c: (c + 1,)),
    ">": Operator(">", "<=", operator.gt, True, lambda c: (c + 1,)),
}

_OPERATOR_PATTERN = "|".join(re.escape(op) for op in sorted(OPERATORS, key=len, reverse=True))
_ATOM = re.compile(
    r"^\s*(?P<name>[a-z][a-z0-9_]*)\s*"
    rf"(?:(?P<op>{_OPERATOR_PATTERN})\s*(?P<value>[A-Za-z0-9_+-]+)|is\s+(?P<known>known|unknown))?\s*$"
)
_OUTCOME = re.compile(
    r"^\s*(?:(?P<verb>recommends|withholds)\s+(?:any\s+(?P<category>[a-z]+)|(?P<rec>[a-z][a-z0-9_]*))"
    rf"|triage\s*(?P<op>{_OPERATOR_PATTERN})\s*(?P<level>[a-z_]+))\s*$"
)


# --- syntax tree -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """``name op value`` on an input fact: neither true nor false while the fact is unknown."""

    name: str
    op: OperatorSymbol
    value: Value


@dataclass(frozen=True, slots=True)
class Known:
    """``name is known`` (``known=True``) or ``name is unknown``: always two-valued."""

    name: str
    known: bool


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A derived finding; ``negated`` means no rule derived it."""

    name: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Name:
    """A bare name before resolution: a boolean fact (``== true``) or a finding."""

    name: str


@dataclass(frozen=True, slots=True)
class All:
    """Every item holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    """At least one item holds (an empty ``Any_`` never does)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item is definitely false (for facts: answered, and not matching)."""

    item: Condition


@dataclass(frozen=True, slots=True)
class TriageAtom:
    """``triage OP LEVEL`` (invariants only): compares the outcome's triage level."""

    op: OperatorSymbol
    level: str


@dataclass(frozen=True, slots=True)
class Recommends:
    """``recommends REC_ID`` (invariants only): the recommendation is given."""

    rec: str


@dataclass(frozen=True, slots=True)
class RecommendsAny:
    """``recommends any CATEGORY`` before resolution (it resolves to an ``Any_`` of :class:`Recommends`)."""

    category: str


@dataclass(frozen=True, slots=True)
class Withholds:
    """``withholds REC_ID`` (invariants only): some fired rule withholds it."""

    rec: str


Condition: TypeAlias = (
    Comparison | Known | FindingRef | Name | All | Any_ | Not | TriageAtom | Recommends | RecommendsAny | Withholds
)
Literal_: TypeAlias = Comparison | Known | FindingRef
OutcomeAtom: TypeAlias = TriageAtom | Recommends | Withholds


# --- parsing -------------------------------------------------------------------


def _parse_value(text: str) -> Value:
    if text == "true":
        return True
    if text == "false":
        return False
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[a-z][a-z0-9_]*", text):
        return text
    raise ConditionSyntaxError(f"'{text}' is not a value (expected true, false, an integer or a name)")


def _parse_outcome(text: str) -> Condition | None:
    match = _OUTCOME.match(text)
    if match is None:
        return None
    if match["category"]:
        return RecommendsAny(match["category"])
    if match["verb"] == "recommends":
        return Recommends(match["rec"])
    if match["verb"] == "withholds":
        return Withholds(match["rec"])
    return TriageAtom(match["op"], match["level"])  # type: ignore[arg-type]


def parse_condition(raw: object, *, outcomes: bool = False) -> Condition:
    """Parse a ``when:`` value into a syntax tree (names not yet resolved).

    With ``outcomes``, the invariant atoms (``triage OP LEVEL``,
    ``recommends ...``, ``withholds ...``) are read too.
    """
    if isinstance(raw, str):
        if outcomes:
            atom = _parse_outcome(raw)
            if atom is not None:
                return atom
        match = _ATOM.match(raw)
        if match is None:
            raise ConditionSyntaxError(
                f"cannot read condition '{raw}' (expected NAME, NAME OP VALUE with OP one of "
                f"{' '.join(OPERATORS)}, or NAME is known/unknown)"
            )
        name = match["name"]
        if match["known"]:
            return Known(name, match["known"] == "known")
        if match["op"]:
            return Comparison(name, match["op"], _parse_value(match["value"]))  # type: ignore[arg-type]
        return Name(name)
    if isinstance(raw, Mapping):
        if len(raw) != 1:
            keys = ", ".join(sorted(map(str, raw))) or "nothing"
            raise ConditionSyntaxError(f"a condition mapping has exactly one key of all/any/not, got {keys}")
        ((key, value),) = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionSyntaxError(f"'{key}' takes a non-empty list of conditions")
            items = tuple(parse_condition(item, outcomes=outcomes) for item in value)
            return All(items) if key == "all" else Any_(items)
        if key == "not":
            return Not(parse_condition(value, outcomes=outcomes))
        raise ConditionSyntaxError(f"unknown condition operator '{key}' (expected all, any or not)")
    raise ConditionSyntaxError(f"a condition is a string or a mapping, not {type(raw).__name__} ({raw!r})")


# --- fact domains and name resolution ------------------------------------------------


class FactDomain(Protocol):
    """What the condition language needs to know of a fact: its type and its values."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def values(self) -> tuple[str, ...]: ...
    @property
    def minimum(self) -> int | None: ...
    @property
    def maximum(self) -> int | None: ...


class CatalogueEntry(Protocol):
    """What invariants need to know of a recommendation: its category."""

    @property
    def category(self) -> str: ...


def finite_domain(spec: FactDomain) -> tuple[Value | None, ...] | None:
    """Every value a validated case can hold for the fact, unknown (``None``) last; None when unbounded."""
    if spec.type == "boolean":
        return (True, False, None)
    if spec.type == "enum":
        return (*spec.values, None)
    return None


def _check_comparison(cond: Comparison, spec: FactDomain) -> None:
    value = cond.value
    symbol = OPERATORS[cond.op]
    if spec.type == "boolean":
        ok = isinstance(value, bool) and not symbol.ordering
        expected = "== or != with true or false"
    elif spec.type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    else:
        ok = isinstance(value, str) and value in spec.values and not symbol.ordering
        expected = "== or != with one of " + ", ".join(spec.values)
    if not ok:
        raise ConditionNameError(
            f"'{cond.name} {cond.op} {value}' does not fit {spec.type} fact '{spec.id}' (expected {expected})"
        )


def resolve(
    cond: Condition,
    facts: Mapping[str, FactDomain],
    findings: Collection[str],
    recommendations: Mapping[str, CatalogueEntry] | None = None,
    categories: Sequence[str] = (),
) -> Condition:
    """Turn bare names into fact comparisons or finding references, checking every comparison's type.

    ``recommendations`` (with their ``categories``) are given for invariants,
    whose outcome atoms name recommendations and categories; rules have none.

    Raises:
        ConditionNameError: naming the unknown name or the comparison that does not fit.
    """

    def again(item: Condition) -> Condition:
        return resolve(item, facts, findings, recommendations, categories)

    if isinstance(cond, Name):
        if cond.name in facts:
            if facts[cond.name].type != "boolean":
                raise ConditionNameError(f"'{cond.name}' is not a yes/no fact; compare it with a value")
            return Comparison(cond.name, "==", True)
        if cond.name in findings:
            return FindingRef(cond.name)
        raise ConditionNameError(f"unknown fact or finding '{cond.name}'{did_you_mean(cond.name, [*facts, *findings])}")
    if isinstance(cond, Comparison | Known):
        spec = facts.get(cond.name)
        if spec is None:
            if cond.name in findings:
                raise ConditionNameError(f"'{cond.name}' is a finding: refer to it by name alone")
            raise ConditionNameError(
                f"unknown fact or finding '{cond.name}'{did_you_mean(cond.name, [*facts, *findings])}"
            )
        if isinstance(cond, Comparison):
            _check_comparison(cond, spec)
        return cond
    if isinstance(cond, Not):
        return Not(again(cond.item))
    if isinstance(cond, All | Any_):
        items = tuple(again(item) for item in cond.items)
        return All(items) if isinstance(cond, All) else Any_(items)
    if isinstance(cond, TriageAtom):
        if cond.level not in TRIAGE_LEVELS:
            raise ConditionNameError(f"unknown triage level '{cond.level}'{did_you_mean(cond.level, TRIAGE_LEVELS)}")
        return cond
    if isinstance(cond, Recommends | Withholds | RecommendsAny):
        if recommendations is None:
            raise ConditionNameError("outcome conditions (triage, recommends, withholds) belong in invariants")
        if isinstance(cond, RecommendsAny):
            if cond.category not in categories:
                raise ConditionNameError(
                    f"unknown category '{cond.category}' (expected one of {', '.join(categories)})"
                )
            members = tuple(Recommends(r) for r, spec in recommendations.items() if spec.category == cond.category)
            return Any_(members)
        if cond.rec not in recommendations:
            raise ConditionNameError(f"unknown recommendation '{cond.rec}'{did_you_mean(cond.rec, recommendations)}")
        return cond
    return cond


# --- normal forms ----------------------------------------------------------------


def negate_literal(lit: Literal_) -> Literal_:
    """The literal that is true exactly when ``lit`` is false (a comparison on an unknown fact is neither)."""
    if isinstance(lit, Comparison):
        return Comparison(lit.name, OPERATORS[lit.op].complement, lit.value)
    if isinstance(lit, Known):
        return Known(lit.name, not lit.known)
    return FindingRef(lit.name, not lit.negated)


def negation_normal_form(cond: Condition, negate: bool = False) -> Condition:
    """Push ``not`` down to literals, keeping three-valued meaning.

    ``not (age < 16)`` becomes ``age >= 16``: both need age to be known, which
    is exactly Kleene negation on a comparison. Bare names must be resolved
    (to :class:`Comparison` or :class:`FindingRef`) first.
    """
    if isinstance(cond, Not):
        return negation_normal_form(cond.item, not negate)
    if isinstance(cond, All | Any_):
        items = tuple(negation_normal_form(item, negate) for item in cond.items)
        flip = isinstance(cond, All) == negate
        return Any_(items) if flip else All(items)
    if not negate:
        return cond
    if isinstance(cond, Comparison | Known | FindingRef):
        return negate_literal(cond)
    raise TypeError(f"unresolved name or outcome in condition: {cond!r}")


def to_dnf(cond: Condition) -> tuple[tuple[Literal_, ...], ...]:
    """Disjunctive normal form of an NNF condition: a tuple of conjunctions."""
    if isinstance(cond, Any_):
        return tuple(conj for item in cond.items for conj in to_dnf(item))
    if isinstance(cond, All):
        result: list[tuple[Literal_, ...]] = [()]
        for item in cond.items:
            result = [left + right for left in result for right in to_dnf(item)]
        return tuple(result)
    if isinstance(cond, Comparison | Known | FindingRef):
        return ((cond,),)
    raise TypeError(f"condition not in negation normal form: {cond!r}")


def dnf_size(cond: Condition) -> int:
    """How many branches :func:`to_dnf` would make of an NNF condition, without making them."""
    if isinstance(cond, Any_):
        return sum(dnf_size(item) for item in cond.items)
    if isinstance(cond, All):
        size = 1
        for item in cond.items:
            size = min(size * dnf_size(item), 10**9)  # stays small to print, still over any limit
        return size
    return 1


def cut_points(lit: Comparison) -> tuple[int, ...]:
    """Where an integer comparison splits the number line (see :attr:`Operator.cuts`)."""
    return OPERATORS[lit.op].cuts(int(lit.value))


# --- concrete three-valued evaluation ------------------------------------------------


def literal_holds(lit: Literal_, facts: Mapping[str, Value | None], findings: Collection[str]) -> bool:
    """Whether one literal is *true* for these facts (``None`` or absent = unknown) and findings.

    The fast form of ``truth(lit, facts, findings) is True``.
    """
    if isinstance(lit, Comparison):
        actual = facts.get(lit.name)
        return actual is not None and bool(OPERATORS[lit.op].apply(actual, lit.value))
    if isinstance(lit, Known):
        return (facts.get(lit.name) is not None) == lit.known
    return (lit.name in findings) != lit.negated


def fact_test(literals: Sequence[Comparison | Known]) -> Callable[[Value | None], bool]:
    """A test of one fact's value (``None`` = unknown) that passes exactly when every literal on it holds.

    The compiled form of :func:`literal_holds` for literals on one fact, for
    matchers that test one field at a time.
    """
    answered = {lit.known for lit in literals if isinstance(lit, Known)}
    comparisons = tuple((OPERATORS[lit.op].apply, lit.value) for lit in literals if isinstance(lit, Comparison))
    if not literals:
        return lambda value: True
    if len(answered) > 1:
        return lambda value: False  # known and unknown at once
    if answered == {False}:
        # "is unknown": no comparison can hold as well.
        return (lambda value: False) if comparisons else (lambda value: value is None)

    def passes(value: Value | None) -> bool:
        if value is None:
            return False
        for apply, constant in comparisons:  # noqa: SIM110 - a plain loop: this runs inside the matcher
            if not apply(value, constant):
                return False
        return True

    if not comparisons:
        return lambda value: value is not None
    return passes


def any_fact_test(branches: Sequence[Sequence[Comparison | Known]]) -> Callable[[Value | None], bool]:
    """A test of one fact's value that passes exactly when the literals of at least one branch all hold."""
    tests = tuple(fact_test(literals) for literals in branches)
    return lambda value: any(test(value) for test in tests)


def holds_unanswered(lit: Comparison | Known) -> bool:
    """Whether a fact literal is true while its fact is unanswered (``x is unknown``)."""
    return literal_holds(lit, {}, ())


def holds_on_absence(lit: Literal_) -> bool:
    """Whether a literal holds on an absence: no finding, an unanswered fact, or a yes/no fact answered no."""
    if literal_holds(lit, {}, ()):
        return True
    return isinstance(lit, Comparison) and isinstance(lit.value, bool) and literal_holds(lit, {lit.name: False}, ())


def evaluate(cond: Condition, facts: Mapping[str, Value | None], findings: Collection[str]) -> bool:
    """Whether an NNF condition is true (not merely not-false)."""
    if isinstance(cond, All):
        return all(evaluate(item, facts, findings) for item in cond.items)
    if isinstance(cond, Any_):
        return any(evaluate(item, facts, findings) for item in cond.items)
    if isinstance(cond, Comparison | Known | FindingRef):
        return literal_holds(cond, facts, findings)
    raise TypeError(f"condition not in negation normal form: {cond!r}")


# --- the meaning over any Boolean algebra ---------------------------------------------

B = TypeVar("B")
T = TypeVar("T")


class Logic(Protocol[B]):
    """A Boolean algebra to interpret conditions in: Python truth values, or solver formulas."""

    def const(self, value: bool) -> B:
        """The constant true or false."""
        ...

    def conj(self, items: Iterable[B]) -> B:
        """All of ``items`` (true when empty); may stop reading ``items`` once the answer is known."""
        ...

    def disj(self, items: Iterable[B]) -> B:
        """Any of ``items`` (false when empty); may stop reading ``items`` once the answer is known."""
        ...

    def neg(self, item: B) -> B:
        """Not ``item``."""
        ...

    def guard(self, condition: B, then: Callable[[], B]) -> B:
        """``condition`` and ``then()``; ``then`` is only called when it can matter."""
        ...

    def choose(self, condition: B, then: Any, otherwise: Any) -> Any:
        """``then`` if ``condition`` else ``otherwise`` (for terms such as the triage rank)."""
        ...


class _PythonLogic:
    """Python's own truth values."""

    def const(self, value: bool) -> bool:
        return value

    def conj(self, items: Iterable[bool]) -> bool:
        return all(items)

    def disj(self, items: Iterable[bool]) -> bool:
        return any(items)

    def neg(self, item: bool) -> bool:
        return not item

    def guard(self, condition: bool, then: Callable[[], bool]) -> bool:
        return bool(condition and then())

    def choose(self, condition: bool, then: Any, otherwise: Any) -> Any:
        return then if condition else otherwise


#: The Boolean algebra of Python truth values.
PYTHON: Logic[bool] = _PythonLogic()


class _PartialLogic:
    """Python truth values with None for "not decided yet" (Kleene's strong three-valued logic)."""

    def const(self, value: bool) -> bool | None:
        return value

    def conj(self, items: Iterable[bool | None]) -> bool | None:
        result: bool | None = True
        for item in items:
            if item is False:
                return False  # false whatever the rest is
            if item is None:
                result = None
        return result

    def disj(self, items: Iterable[bool | None]) -> bool | None:
        result: bool | None = False
        for item in items:
            if item is True:
                return True  # true whatever the rest is
            if item is None:
                result = None
        return result

    def neg(self, item: bool | None) -> bool | None:
        return None if item is None else not item

    def guard(self, condition: bool | None, then: Callable[[], bool | None]) -> bool | None:
        return condition if condition is not True else then()

    def choose(self, condition: bool | None, then: Any, otherwise: Any) -> Any:
        if condition is None:
            raise ValueError("cannot choose on an undecided condition")
        return then if condition else otherwise


#: Truth values that may still be open (None): for reasoning over answers not all given yet. A world
#: in this algebra returns ``FactTerm(None, ...)`` for an unasked fact; whatever :func:`encode` decides
#: (True or False) then holds in every way the open names could turn out.
PARTIAL: Logic[bool | None] = _PartialLogic()


@dataclass(frozen=True, slots=True)
class FactTerm(Generic[B]):
    """How one fact is represented in a :class:`World`.

    Attributes:
        known: whether the fact is answered.
        value: its value when answered (a Python value or a solver term).
        constant: turns a condition's constant into the same representation as ``value``.
    """

    known: B
    value: Any
    constant: Callable[[Value], Any] = field(default=lambda value: value)


class World(Protocol[B]):
    """An interpretation of the names a condition mentions, in one :class:`Logic`."""

    @property
    def logic(self) -> Logic[B]:
        """The Boolean algebra the world's truth values live in."""
        ...

    def fact(self, name: str) -> FactTerm[B]:
        """How the fact is represented."""
        ...

    def finding(self, name: str) -> B:
        """Whether the finding is derived."""
        ...

    def given(self, rec: str) -> B:
        """Whether the recommendation is given (outcome atoms only)."""
        ...

    def withheld(self, rec: str) -> B:
        """Whether the recommendation is withheld (outcome atoms only)."""
        ...

    def triage_rank(self) -> Any:
        """The triage level's rank, 0 (self_care) to 3 (outcome atoms only)."""
        ...


def literal_truth(lit: Literal_, world: World[B]) -> B:
    """Whether a literal is definitely true: the meaning of one literal, in the world's logic.

    A comparison is true when its fact is known and the operator holds (the
    operator is applied to the world's own representation of the value); ``is
    known`` / ``is unknown`` and findings are two-valued. A literal is
    definitely false exactly when its negation (:func:`negation_normal_form`)
    is definitely true.
    """
    logic = world.logic
    if isinstance(lit, Comparison):
        term = world.fact(lit.name)
        apply, value, constant = OPERATORS[lit.op].apply, term.value, term.constant(lit.value)
        return logic.guard(term.known, lambda: apply(value, constant))
    if isinstance(lit, Known):
        known = world.fact(lit.name).known
        return known if lit.known else logic.neg(known)
    derived = world.finding(lit.name)
    return logic.neg(derived) if lit.negated else derived


def encode(cond: Condition, world: World[B]) -> tuple[B, B]:
    """The three-valued meaning of a resolved condition, as (definitely true, definitely false).

    This is the definition of the language (Kleene logic over facts that may
    be unknown): a literal means what :func:`literal_truth` says, and is false
    when its negation is true (so a comparison on an unknown fact is neither);
    outcome atoms are two-valued; ``not`` swaps true and false; ``all`` is true
    when every item is true and false when one is false; ``any`` the dual.
    """
    logic = world.logic
    if isinstance(cond, Comparison | Known | FindingRef):
        return literal_truth(cond, world), literal_truth(negate_literal(cond), world)
    if isinstance(cond, Not):
        yes, no = encode(cond.item, world)
        return no, yes
    if isinstance(cond, All | Any_):
        pairs = [encode(item, world) for item in cond.items]
        yeses, noes = [yes for yes, _ in pairs], [no for _, no in pairs]
        if isinstance(cond, All):
            return logic.conj(yeses), logic.disj(noes)
        return logic.disj(yeses), logic.conj(noes)
    if isinstance(cond, TriageAtom):
        held = OPERATORS[cond.op].apply(world.triage_rank(), triage_rank(cond.level))
        return held, logic.neg(held)
    if isinstance(cond, Recommends):
        given = world.given(cond.rec)
        return given, logic.neg(given)
    if isinstance(cond, Withholds):
        withheld = world.withheld(cond.rec)
        return withheld, logic.neg(withheld)
    raise TypeError(f"unresolved name in condition: {cond!r}")


@dataclass(frozen=True, slots=True)
class _CaseWorld:
    """One concrete case: answered facts, derived findings and (for invariants) the outcome."""

    facts: Mapping[str, Value | None]
    findings: Collection[str]
    given_ids: Collection[str] = ()
    withheld_ids: Collection[str] = ()
    rank: int = 0

    @property
    def logic(self) -> Logic[bool]:
        return PYTHON

    def fact(self, name: str) -> FactTerm[bool]:
        value = self.facts.get(name)
        return FactTerm(value is not None, value)

    def finding(self, name: str) -> bool:
        return name in self.findings

    def given(self, rec: str) -> bool:
        return rec in self.given_ids

    def withheld(self, rec: str) -> bool:
        return rec in self.withheld_ids

    def triage_rank(self) -> int:
        return self.rank


def truth(
    cond: Condition,
    facts: Mapping[str, Value | None],
    findings: Collection[str] = (),
    *,
    given: Collection[str] = (),
    withheld: Collection[str] = (),
    triage: str = TRIAGE_LEVELS[0],
) -> bool | None:
    """True, false or unknown (None): the three-valued truth of a resolved condition for one case.

    ``given``, ``withheld`` and ``triage`` describe the outcome, for the
    outcome atoms of invariants.
    """
    world = _CaseWorld(facts, findings, given, withheld, triage_rank(triage))
    yes, no = encode(cond, world)
    return True if yes else (False if no else None)


def holds(cond: Condition, facts: Mapping[str, Value | None], findings: Collection[str] = ()) -> bool:
    """Whether a resolved condition (any form) is true for one case: what makes a rule fire."""
    return truth(cond, facts, findings) is True


# --- assembly: what fired rules conclude ------------------------------------------------


class ActionLike(Protocol):
    """One conclusion of a rule."""

    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def text(self) -> str | None: ...


class RuleLike(Protocol):
    """What assembly needs of a rule: its id and its conclusions."""

    @property
    def id(self) -> str: ...
    @property
    def actions(self) -> Sequence[ActionLike]: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What a sequence of fired rules concludes, in firing order.

    Attributes:
        triage: the rank of the triage level (the highest any fired rule sets, 0 when none).
        triage_rules: the fired rules that set that level.
        recommended: each recommendation some fired rule recommends, with those rules.
        withheld: (recommendation, rule, reason) for every withhold a fired rule makes.
        warnings: each recommendation's cautions, as (rule, message).
        withheld_ids: the recommendations some fired rule withholds.
    """

    triage: int
    triage_rules: tuple[str, ...]
    recommended: Mapping[str, tuple[str, ...]]
    withheld: tuple[tuple[str, str, str], ...]
    warnings: Mapping[str, tuple[tuple[str, str], ...]]
    withheld_ids: frozenset[str] = frozenset()

    def given(self, rec: str) -> bool:
        """Withhold beats recommend: given when recommended and withheld by no fired rule."""
        return rec in self.recommended and rec not in self.withheld_ids

    def given_ids(self) -> tuple[str, ...]:
        """The recommendations given, in the order they were first recommended."""
        return tuple(rec for rec in self.recommended if self.given(rec))


class Conclusions:
    """The assembly semantics of one rule set, concretely (:meth:`decide`) and over any :class:`Logic`.

    In the symbolic form, ``fires`` says whether a rule (by id) fires: a
    formula, or a Python truth value.
    """

    def __init__(self, rules: Iterable[RuleLike]) -> None:
        """Index what each rule concludes."""
        self.rules = tuple(rules)
        self._by: dict[tuple[str, str], list[str]] = {}
        self._triage: list[tuple[int, str]] = []
        for rule in self.rules:
            for action in rule.actions:
                self._by.setdefault((action.kind, action.target), []).append(rule.id)
                if action.kind == "triage":
                    self._triage.append((triage_rank(action.target), rule.id))

    def rules_that(self, kind: str, target: str) -> tuple[str, ...]:
        """The ids of the rules with the action ``kind: target``, in rule order."""
        return tuple(self._by.get((kind, target), ()))

    # -- concrete ---------------------------------------------------------------------

    def decide(self, fired: Iterable[RuleLike]) -> Decision:
        """What the fired rules (each once, in firing order) conclude."""
        level = 0
        triage_rules: list[str] = []
        recommended: dict[str, list[str]] = {}
        withheld: list[tuple[str, str, str]] = []
        warnings: dict[str, list[tuple[str, str]]] = {}
        for rule in fired:
            for action in rule.actions:
                kind = action.kind
                if kind == "triage":
                    rank = triage_rank(action.target)
                    if rank > level:  # the highest level wins
                        level, triage_rules = rank, [rule.id]
                    elif rank == level:
                        triage_rules.append(rule.id)
                elif kind == "recommend":
                    recommended.setdefault(action.target, []).append(rule.id)
                elif kind == "withhold":
                    withheld.append((action.target, rule.id, action.text or ""))
                elif kind == "caution":
                    warnings.setdefault(action.target, []).append((rule.id, action.text or ""))
        return Decision(
            level,
            tuple(triage_rules),
            {rec: tuple(by) for rec, by in recommended.items()},
            tuple(withheld),
            {rec: tuple(found) for rec, found in warnings.items()},
            frozenset(target for target, _, _ in withheld),
        )

    # -- over any logic -------------------------------------------------------------------

    def derived(self, finding: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """A finding holds when some rule deriving it fires."""
        return logic.disj([fires(r) for r in self.rules_that("derive", finding)])

    def triage_at_least(self, level: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """The triage is ``level`` or higher: some fired rule sets a level that high (``self_care`` always)."""
        rank = triage_rank(level)
        if rank == 0:
            return logic.const(True)
        return logic.disj([fires(rule_id) for setter_rank, rule_id in self._triage if setter_rank >= rank])

    def triage(self, fires: Callable[[str], B], logic: Logic[B]) -> Any:
        """The rank of the triage level, as a term: the highest level that some fired rule reaches."""
        term: Any = 0
        for rank in range(1, len(TRIAGE_LEVELS)):
            term = logic.choose(self.triage_at_least(TRIAGE_LEVELS[rank], fires, logic), rank, term)
        return term

    def recommended(self, rec: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """Some fired rule recommends ``rec`` (before withholding)."""
        return logic.disj([fires(r) for r in self.rules_that("recommend", rec)])

    def withheld(self, rec: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """Some fired rule withholds ``rec``."""
        return logic.disj([fires(r) for r in self.rules_that("withhold", rec)])

    def given(self, rec: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """Withhold beats recommend: recommended, and withheld by no fired rule."""
        return logic.conj([self.recommended(rec, fires, logic), logic.neg(self.withheld(rec, fires, logic))])

    def warned(self, rec: str, fires: Callable[[str], B], logic: Logic[B]) -> B:
        """``rec`` is given with at least one caution attached."""
        cautions = self.rules_that("caution", rec)
        if not cautions:
            return logic.const(False)
        return logic.conj([self.given(rec, fires, logic), logic.disj([fires(r) for r in cautions])])


# --- rendering -------------------------------------------------------------------


def render_value(value: object) -> str:
    """A fact value in words: yes/no for booleans, "unknown" for None, else the value."""
    if value is None:
        return "unknown"
    return _render_value(value)  # type: ignore[arg-type]


def _render_value(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(cond: Condition) -> str:
    """A readable one-line form of a condition, for reports and explanations."""
    if isinstance(cond, Comparison):
        if cond.value is True and cond.op == "==":
            return cond.name
        if cond.value is False and cond.op == "==":
            return f"{cond.name} = no"
        if isinstance(cond.value, bool) and cond.op == "!=":
            return f"{cond.name} = {_render_value(not cond.value)}"
        return f"{cond.name} {cond.op} {_render_value(cond.value)}"
    if isinstance(cond, Known):
        return f"{cond.name} is {'known' if cond.known else 'unknown'}"
    if isinstance(cond, FindingRef):
        return f"no {cond.name}" if cond.negated else cond.name
    if isinstance(cond, Name):
        return cond.name
    if isinstance(cond, Not):
        return f"not ({render(cond.item)})"
    if isinstance(cond, TriageAtom):
        return f"triage {cond.op} {cond.level}"
    if isinstance(cond, Recommends):
        return f"recommends {cond.rec}"
    if isinstance(cond, Withholds):
        return f"withholds {cond.rec}"
    if isinstance(cond, RecommendsAny):
        return f"recommends any {cond.category}"
    if not cond.items:
        return "nothing" if isinstance(cond, Any_) else "everything"
    joiner = " and " if isinstance(cond, All) else " or "
    return "(" + joiner.join(render(item) for item in cond.items) + ")"
