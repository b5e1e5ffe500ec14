"""Hypothesis strategies and checkers for property-based tests of a knowledge base.

Everything here is derived from the knowledge base's own ``facts.yaml`` and
rules, so the same tests work for any knowledge base::

    from hypothesis import given
    from spasm_advisor import Advisor
    from spasm_advisor.testing import cases, assert_sound

    advisor = Advisor.default()

    @given(cases(advisor.knowledge_base))
    def test_explanations_are_sound(case):
        assert_sound(advisor.assess(case), advisor.knowledge_base)

Requires ``hypothesis`` (installed with the ``dev`` or ``testing`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from spasm_advisor.inference.assessment import Assessment, Derivation
from spasm_advisor.kb.conditions import Comparison
from spasm_advisor.kb.model import KnowledgeBase, triage_rank

__all__ = [
    "REFERRAL_FOR_TRIAGE",
    "assert_invariants",
    "assert_sound",
    "benign_cases",
    "cases",
    "fact_values",
    "invalid_cases",
    "red_flag_cases",
    "sample_cases",
    "thresholds",
]

#: The referral each triage level above self-care must come with.
REFERRAL_FOR_TRIAGE = {
    "emergency": "emergency_care",
    "urgent": "urgent_clinician_review",
    "routine": "clinician_review",
}


def _default_kb() -> KnowledgeBase:
    from spasm_advisor.inference.advisor import Advisor

    return Advisor.default().knowledge_base


def sample_cases(
    kb: KnowledgeBase,
    count: int,
    *,
    seed: int = 0,
    yes_rate: float = 0.5,
    red_flag_yes_rate: float | None = None,
    near_rate: float = 0.5,
) -> list[dict[str, Any]]:
    """A fixed, seeded list of valid cases, drawn like :func:`cases` but without Hypothesis.

    For benchmarks, batch tests and mutation testing, where the same cases are
    needed run after run. Each fact is unknown a third of the time; booleans
    are yes with ``yes_rate`` (``red_flag_yes_rate`` for red flags, when
    given); integers are near a rule threshold with ``near_rate``, else
    anywhere in range (up to 400 when unbounded).
    """
    import random

    rng = random.Random(seed)
    limits = thresholds(kb)
    out = []
    for _ in range(count):
        case: dict[str, Any] = {}
        for name, spec in kb.facts.items():
            if rng.randrange(3) == 0:
                continue
            if spec.type == "boolean":
                rate = red_flag_yes_rate if spec.is_red_flag and red_flag_yes_rate is not None else yes_rate
                case[name] = rng.random() < rate
            elif spec.type == "enum":
                case[name] = rng.choice(spec.values)
            else:
                low = spec.minimum or 0
                high = spec.maximum if spec.maximum is not None else 400
                near = [v for t in limits.get(name, ()) for v in (t - 1, t, t + 1) if low <= v <= high]
                case[name] = rng.choice(near or [low]) if rng.random() < near_rate else rng.randint(low, high)
        out.append(case)
    return out


def thresholds(kb: KnowledgeBase) -> dict[str, set[int]]:
    """The integer constants each integer fact is compared with in the rules."""
    found: dict[str, set[int]] = {}
    for rule in kb.rules:
        for conj in rule.dnf:
            for lit in conj:
                if isinstance(lit, Comparison) and isinstance(lit.value, int) and not isinstance(lit.value, bool):
                    found.setdefault(lit.name, set()).add(lit.value)
    return found


def fact_values(kb: KnowledgeBase, name: str) -> st.SearchStrategy[Any]:
    """Valid values of one fact, concentrated around the thresholds rules use."""
    spec = kb.facts[name]
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else max([low + 1000, *thresholds(kb).get(name, ())]) + 1
    near = sorted(
        {v for t in thresholds(kb).get(name, ()) for v in (t - 1, t, t + 1) if low <= v <= high} | {low, high}
    )
    return st.one_of(st.sampled_from(near), st.integers(low, high))


@st.composite
def _cases(draw: st.DrawFn, kb: KnowledgeBase, fixed: Mapping[str, Any], red_flags: str) -> dict[str, Any]:
    case: dict[str, Any] = {}
    for name, spec in kb.facts.items():
        if name in fixed:
            if fixed[name] is not None:
                case[name] = fixed[name]
            continue
        if spec.is_red_flag and red_flags == "no":
            case[name] = False
            continue
        # Absent means unknown: every fact is left unanswered about a third of the time.
        if draw(st.integers(0, 2)) == 0:
            continue
        case[name] = draw(fact_values(kb, name))
    if red_flags == "some" and not any(case.get(f) is True for f in kb.red_flags()):
        flag = draw(st.sampled_from([f for f in kb.red_flags() if f not in fixed]))
        case[flag] = True
    return case


def cases(kb: KnowledgeBase | None = None, **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Valid cases: each fact absent (unknown) or a valid value; ``fixed`` facts are set as given.

    Pass ``name=None`` to keep a fact unknown.
    """
    return _cases(kb or _default_kb(), fixed, "any")


def red_flag_cases(kb: KnowledgeBase | None = None, **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Valid cases with at least one red flag answered yes."""
    return _cases(kb or _default_kb(), fixed, "some")


def benign_cases(kb: KnowledgeBase | None = None, **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Valid cases with every red flag answered no."""
    return _cases(kb or _default_kb(), fixed, "no")


@st.composite
def _invalid(draw: st.DrawFn, kb: KnowledgeBase) -> tuple[dict[str, Any], str]:
    case = draw(cases(kb))
    kind = draw(st.sampled_from(["unknown_key", "wrong_type", "out_of_range"]))
    if kind == "unknown_key":
        key = draw(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20).filter(lambda k: k not in kb.facts)
        )
        case[key] = draw(st.booleans())
        return case, key
    if kind == "out_of_range":
        bounded = [f for f in kb.facts.values() if f.type == "integer"]
        if bounded:
            spec = draw(st.sampled_from(bounded))
            below = spec.minimum if spec.minimum is not None else 0
            options = [st.integers(max_value=below - 1)]
            if spec.maximum is not None:
                options.append(st.integers(min_value=spec.maximum + 1))
            case[spec.id] = draw(st.one_of(options))
            return case, spec.id
    spec = draw(st.sampled_from(list(kb.facts.values())))
    wrong: st.SearchStrategy[Any]
    if spec.type == "boolean":
        wrong = st.one_of(st.integers(), st.text(), st.floats(), st.lists(st.booleans(), max_size=2))
    elif spec.type == "integer":
        wrong = st.one_of(st.booleans(), st.text(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=2))
    else:
        wrong = st.one_of(st.booleans(), st.integers(), st.text().filter(lambda t: t not in spec.values))
    case[spec.id] = draw(wrong)
    return case, spec.id


def invalid_cases(kb: KnowledgeBase | None = None) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """Invalid cases, each with the field that makes it invalid: ``(case, field)``."""
    return _invalid(kb or _default_kb())


def assert_invariants(advisor: Any, case: Mapping[str, Any]) -> None:
    """Every invariant in the knowledge base's ``invariants.yaml`` holds for this case."""
    from spasm_advisor.analysis.invariants import holds, load_invariants

    result = advisor.assess(case)
    broken = [inv.id for inv in load_invariants(advisor.knowledge_base) if not holds(inv, result)]
    assert not broken, f"invariants violated for {dict(case)!r}: {broken}"


def _walk(nodes: tuple[Derivation, ...]) -> list[Derivation]:
    out: list[Derivation] = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(node.derived_from))
    return out


def assert_sound(assessment: Assessment, kb: KnowledgeBase) -> None:
    """Explanations refer only to fired rules and to facts that are input or derived.

    Also checks: every recommendation has an explanation; no fact cited with a
    value was left unanswered; each cited finding is derived by a rule in the
    same chain; triage is explained unless it is the default; nothing is both
    recommended and withheld.
    """
    fired = set(assessment.fired_rules)
    case = dict(assessment.case)
    chains = [rec.explanation for rec in assessment.recommendations]
    chains += [(item.explanation,) for item in assessment.withheld]
    chains.append(assessment.triage_explanation)
    for rec in assessment.recommendations:
        assert rec.explanation, f"recommendation {rec.id} has no explanation"
        assert any(
            a.kind == "recommend" and a.target == rec.id for n in rec.explanation for a in kb.rule_index[n.rule].actions
        ), f"no rule in the explanation of {rec.id} recommends it"
    for chain in chains:
        for node in _walk(chain):
            assert node.rule in fired, f"explanation cites rule {node.rule}, which did not fire"
            for name, value in node.facts:
                assert name in case, f"rule {node.rule} cites {name}={value!r}, which was not answered"
                assert case[name] == value, f"rule {node.rule} cites {name}={value!r}, input was {case[name]!r}"
            for name in node.unanswered:
                assert name not in case, f"rule {node.rule} cites {name} as unanswered, but it was answered"
            derived_below = {f for child in _walk(node.derived_from) for f in kb.rule_index[child.rule].derives}
            for finding in node.findings:
                assert finding in assessment.findings, f"rule {node.rule} cites finding {finding}, not derived"
                assert finding in derived_below, f"finding {finding} cited by {node.rule} has no derivation"
            for finding in node.absent_findings:
                assert finding not in assessment.findings, f"rule {node.rule} relies on {finding} being absent"
    if triage_rank(assessment.triage) > 0:
        assert assessment.triage_explanation, "triage above self_care without an explanation"
    both = set(assessment.recommendation_ids()) & set(assessment.withheld_ids())
    assert not both, f"recommended and withheld at once: {sorted(both)}"
