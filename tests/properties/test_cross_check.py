"""Cross-check: the plain evaluator, the experta engine and the z3 encoding agree on every condition.

Conditions and cases are generated (every operator, ``is known``/``is
unknown``, findings either way, ``not``/``all``/``any`` nested, constants
outside a fact's domain, unknown facts), and each way of giving a condition
meaning must give the same one:

- :func:`~spasm_advisor.kb.conditions.truth` (the definition),
- the experta engine (:class:`~spasm_advisor.Advisor`) and the reference interpreter,
- the z3 encoding (:class:`~spasm_advisor.analysis.symbolic.SymbolicKnowledgeBase`), used by
  verify, diff and why-not,
- invariant checking on one assessment and its z3 form in ``rules verify``,
- the interview's "decided whatever comes next".

And ``rules diff A A'`` reports no behaviour change whenever ``A'`` is ``A``
rewritten into an equivalent form.

Every Hypothesis test is bounded (``max_examples``) so the suite stays quick
on a shared machine.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
import z3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spasm_advisor import Advisor, load_knowledge_base
from spasm_advisor.analysis.diff import diff_knowledge_bases
from spasm_advisor.analysis.invariants import holds as invariant_holds
from spasm_advisor.analysis.symbolic import SymbolicKnowledgeBase
from spasm_advisor.analysis.verify import invariant_formula
from spasm_advisor.inference.reference import ReferenceInterpreter
from spasm_advisor.io.interview import _outlook
from spasm_advisor.kb.conditions import (
    OPERATORS,
    PYTHON,
    TRIAGE_LEVELS,
    All,
    Any_,
    Comparison,
    Conclusions,
    Condition,
    FindingRef,
    Known,
    Not,
    Recommends,
    TriageAtom,
    Withholds,
    dnf_size,
    encode,
    evaluate,
    holds,
    negation_normal_form,
    to_dnf,
    truth,
)
from spasm_advisor.kb.model import Action, Citation, Invariant, KnowledgeBase, Provenance, RuleSpec

# Two thirds of the profile's examples (40 by default): each example builds a knowledge base and an engine.
SETTINGS = settings(
    max_examples=max(10, settings.default.max_examples * 2 // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FACTS = [
    {"id": "a", "type": "boolean", "role": "sign"},
    {"id": "b", "type": "boolean", "role": "red_flag"},
    {"id": "n", "type": "integer", "min": 0, "max": 10, "role": "context"},
    {"id": "m", "type": "integer", "min": 0, "role": "context"},
    {"id": "e", "type": "enum", "values": ["x", "y", "z"], "role": "cause"},
    {"id": "g", "type": "boolean", "role": "sign"},
]
ENUM = ("x", "y", "z")
RECS = ("r1", "r2", "r3")
FINDINGS = ("f1", "f2")


def _knowledge_files(folder: Path) -> None:
    facts = [{**f, "question": f"{f['id']}?", "description": f"fact {f['id']}"} for f in FACTS]
    (folder / "facts.yaml").write_text(yaml.safe_dump({"version": 1, "facts": facts}))
    (folder / "sources.yaml").write_text(yaml.safe_dump({"version": 1, "sources": [{"id": "s", "title": "S"}]}))
    catalogue = [
        {
            "id": rec,
            "category": category,
            "title": rec,
            "advice": f"advice {rec}",
            "evidence": [{"source": "s", "level": "weak"}],
            "sources": ["s"],
        }
        for rec, category in zip(RECS, ("relief", "therapy", "referral"), strict=True)
    ]
    (folder / "recommendations.yaml").write_text(yaml.safe_dump({"version": 1, "recommendations": catalogue}))
    (folder / "hazards.yaml").write_text(yaml.safe_dump({"version": 1, "hazards": []}))


def _yaml_condition(cond: Condition) -> Any:
    if isinstance(cond, Comparison):
        value = str(cond.value).lower() if isinstance(cond.value, bool) else cond.value
        return f"{cond.name} {cond.op} {value}"
    if isinstance(cond, Known):
        return f"{cond.name} is {'known' if cond.known else 'unknown'}"
    if isinstance(cond, FindingRef):
        return {"not": cond.name} if cond.negated else cond.name
    if isinstance(cond, Not):
        return {"not": _yaml_condition(cond.item)}
    key = "all" if isinstance(cond, All) else "any"
    return {key: [_yaml_condition(item) for item in cond.items]}


def _rules(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**rule, "title": rule["id"], "because": "Test.", "sources": ["s"]} for rule in rules]


def _load(rules: list[dict[str, Any]]) -> KnowledgeBase:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "rules").mkdir()
        (root / "knowledge").mkdir()
        _knowledge_files(root / "knowledge")
        (root / "rules" / "main.yaml").write_text(yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False))
        return load_knowledge_base(root / "rules", root / "knowledge", sealed=False)


# --- strategies --------------------------------------------------------------------


def _literals(findings: tuple[str, ...], outside: bool) -> st.SearchStrategy[Condition]:
    values = [*ENUM, "w"] if outside else list(ENUM)
    low, high = (-2, 12) if outside else (0, 10)
    options = [
        st.builds(Comparison, st.sampled_from(["a", "b", "g"]), st.sampled_from(["==", "!="]), st.booleans()),
        st.builds(Comparison, st.just("n"), st.sampled_from(sorted(OPERATORS)), st.integers(low, high)),
        st.builds(Comparison, st.just("m"), st.sampled_from(sorted(OPERATORS)), st.integers(low, 40)),
        st.builds(Comparison, st.just("e"), st.sampled_from(["==", "!="]), st.sampled_from(values)),
        st.builds(Known, st.sampled_from([f["id"] for f in FACTS]), st.booleans()),
    ]
    if findings:
        options.append(st.builds(FindingRef, st.sampled_from(findings), st.booleans()))
    return st.one_of(options)


def _conditions(findings: tuple[str, ...] = (), *, outside: bool = False) -> st.SearchStrategy[Condition]:
    """Resolved conditions over the test vocabulary, nested up to a few levels."""
    return st.recursive(
        _literals(findings, outside),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda items: All(tuple(items))),
            st.lists(inner, min_size=1, max_size=3).map(lambda items: Any_(tuple(items))),
            inner.map(Not),
        ),
        max_leaves=6,
    )


_STRATEGIES: dict[tuple[tuple[str, ...], bool], st.SearchStrategy[Condition]] = {}


def conditions(findings: tuple[str, ...] = (), *, outside: bool = False) -> st.SearchStrategy[Condition]:
    """Small resolved conditions (at most 32 branches) over the test vocabulary; built once per kind."""
    key = (findings, outside)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _conditions(findings, outside=outside).filter(_small)
    return _STRATEGIES[key]


def _value(name: str) -> st.SearchStrategy[Any]:
    if name in ("a", "b", "g"):
        return st.booleans()
    if name == "n":
        return st.integers(0, 10)
    if name == "m":
        return st.integers(0, 40)
    return st.sampled_from(ENUM)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """A case over the test vocabulary: each fact unknown about a third of the time."""
    return {f["id"]: draw(_value(f["id"])) for f in FACTS if draw(st.integers(0, 2))}


@st.composite
def partial_answers(draw: st.DrawFn) -> dict[str, Any]:
    """Interview answers so far: some questions asked (a value, or None for don't know)."""
    asked = {}
    for fact in FACTS:
        if draw(st.booleans()):
            asked[fact["id"]] = draw(st.one_of(st.none(), _value(fact["id"])))
    return asked


def _small(cond: Condition) -> bool:
    return dnf_size(negation_normal_form(cond)) <= 32


_ACTIONS = st.one_of(
    st.sampled_from(TRIAGE_LEVELS).map(lambda level: {"triage": level}),
    st.sampled_from(RECS).map(lambda rec: {"recommend": rec}),
    st.sampled_from(RECS).map(lambda rec: {"withhold": rec, "reason": "Contraindicated."}),
    st.sampled_from(RECS).map(lambda rec: {"caution": rec, "message": "Careful."}),
)


@st.composite
def knowledge_bases(draw: st.DrawFn) -> KnowledgeBase:
    """A small, valid knowledge base: findings f1 (from facts) and f2 (from facts and f1), then outcome rules."""
    rules = []
    for number in range(draw(st.integers(1, 2))):
        cond = draw(conditions())
        rules.append({"id": f"derive_f1_{number}", "when": _yaml_condition(cond), "then": [{"derive": "f1"}]})
    cond = draw(conditions(("f1",)))
    rules.append({"id": "derive_f2", "when": _yaml_condition(cond), "then": [{"derive": "f2"}]})
    for number in range(draw(st.integers(2, 5))):
        cond = draw(conditions(FINDINGS))
        actions = draw(st.lists(_ACTIONS, min_size=1, max_size=2))
        rules.append({"id": f"rule_{number}", "when": _yaml_condition(cond), "then": actions})
    return _load(_rules(*rules))


# --- evaluating in each world ---------------------------------------------------------


def _findings_of(kb: KnowledgeBase, case: Mapping[str, Any]) -> set[str]:
    return set(ReferenceInterpreter(kb).assess(case).findings)


def _model(sym: SymbolicKnowledgeBase, case: Mapping[str, Any]) -> Any:
    solver = sym.solver()
    solver.add(sym.vars.matches(case))
    assert solver.check() == z3.sat
    return solver.model()


def _z3_true(model: Any, formula: Any) -> bool:
    return z3.is_true(model.evaluate(formula, model_completion=True))


# --- conditions: definition, concrete forms, experta and z3 ---------------------------


@pytest.fixture(scope="module", name="probe_base")
def _probe_base() -> KnowledgeBase:
    """Findings f1 and f2 read from facts, and three catalogue entries for probe rules to recommend."""
    return _load(
        _rules(
            {"id": "f1_rule", "when": "g", "then": [{"derive": "f1"}]},
            {"id": "f2_rule", "when": {"all": ["b", "n >= 4"]}, "then": [{"derive": "f2"}]},
            {"id": "f2_other", "when": "e == z", "then": [{"derive": "f2"}]},
        )
    )


def _with_probes(base: KnowledgeBase, probes: list[Condition]) -> KnowledgeBase:
    """``base`` plus one rule per condition (built directly: constants may lie outside a domain)."""
    stratum = 1 + max(rule.stratum for rule in base.rules)
    added = tuple(
        RuleSpec(
            id=f"probe_{i:03d}",
            title=f"probe {i}",
            condition=cond,
            dnf=to_dnf(negation_normal_form(cond)),
            actions=(Action("recommend", RECS[i % len(RECS)]),),
            because="Probe.",
            sources=(Citation("s"),),
            evidence=None,
            provenance=Provenance(),
            path="generated",
            line=0,
            stratum=stratum,
        )
        for i, cond in enumerate(probes)
    )
    rules = base.rules + added
    return dataclasses.replace(base, rules=rules, rule_index=MappingProxyType({r.id: r for r in rules}))


def _check_probes(kb: KnowledgeBase, probes: list[Condition], case_list: list[dict[str, Any]]) -> None:
    advisor, reference, sym = Advisor(kb), ReferenceInterpreter(kb), SymbolicKnowledgeBase(kb)
    for case in case_list:
        findings = _findings_of(kb, case)
        model = _model(sym, case)
        engine = set(advisor.assess(case).fired_rules)
        plain = set(reference.assess(case).fired_rules)
        for number, cond in enumerate(probes):
            rule_id = f"probe_{number:03d}"
            value = truth(cond, case, findings)
            nnf = negation_normal_form(cond)
            assert holds(cond, case, findings) == (value is True)
            assert evaluate(nnf, case, findings) == (value is True)
            assert truth(nnf, case, findings) == value  # NNF keeps three-valued meaning
            dnf = to_dnf(nnf)
            assert any(all(evaluate(lit, case, findings) for lit in conj) for conj in dnf) == (value is True)
            assert (rule_id in engine) == (value is True), (cond, case)
            assert (rule_id in plain) == (value is True), (cond, case)
            yes, no = sym.definitely(cond)
            assert (_z3_true(model, yes), _z3_true(model, no)) == (value is True, value is False), (cond, case)
            assert _z3_true(model, sym.fires[rule_id]) == (value is True), (cond, case)


@SETTINGS
@given(
    probes=st.lists(conditions(FINDINGS, outside=True), min_size=1, max_size=4),
    case_list=st.lists(cases(), min_size=1, max_size=4),
)
def test_every_evaluator_agrees_on_conditions(probe_base, probes, case_list):
    """truth(), the NNF/DNF forms, experta, the reference interpreter and z3 give each condition one meaning."""
    _check_probes(_with_probes(probe_base, probes), probes, case_list)


def _every_literal() -> list[Condition]:
    literals: list[Condition] = []
    for name in ("a", "g"):
        literals += [Comparison(name, op, value) for op in ("==", "!=") for value in (True, False)]
    for name, constants in (("n", (-1, 0, 5, 10, 11)), ("m", (-1, 0, 20, 41))):
        literals += [Comparison(name, op, c) for op in sorted(OPERATORS) for c in constants]
    literals += [Comparison("e", op, v) for op in ("==", "!=") for v in (*ENUM, "w")]
    literals += [Known(f["id"], known) for f in FACTS for known in (True, False)]
    literals += [FindingRef(name, negated) for name in FINDINGS for negated in (False, True)]
    return literals + [Not(lit) for lit in literals]


def test_every_literal_on_every_value(probe_base):
    """Each operator, on each fact type, with constants inside and outside the domain, on every value and unknown."""
    probes = _every_literal()
    columns = {
        "a": [None, True, False],
        "g": [None, True, False],
        "b": [None, True, False],
        "n": [None, 0, 4, 5, 6, 10],
        "m": [None, 0, 19, 20, 21, 40],
        "e": [None, *ENUM],
    }
    rows = max(len(values) for values in columns.values())
    case_list = [
        {name: values[(row + shift) % len(values)] for shift, (name, values) in enumerate(columns.items())}
        for row in range(rows * 2)
    ]
    case_list = [{k: v for k, v in case.items() if v is not None} for case in case_list]
    _check_probes(_with_probes(probe_base, probes), probes, case_list)


def test_value_outside_the_domain():
    """'e != w' (w not a value of e) is true exactly when e is answered; 'e == w' never is."""
    cond = Comparison("e", "!=", "w")
    assert truth(cond, {"e": "x"}) is True
    assert truth(cond, {}) is None
    assert truth(Comparison("e", "==", "w"), {"e": "x"}) is False
    assert truth(Comparison("n", "<", 99), {"n": 3}) is True
    assert truth(Not(Comparison("n", "<", 99)), {}) is None


# --- whole knowledge bases: outcomes --------------------------------------------------


@SETTINGS
@given(kb=knowledge_bases(), case_list=st.lists(cases(), min_size=1, max_size=4))
def test_engine_reference_and_z3_agree_on_outcomes(kb, case_list):
    """Triage, recommendations, withheld items, warnings and findings: experta = reference = z3 = assembly."""
    advisor, reference, sym = Advisor(kb), ReferenceInterpreter(kb), SymbolicKnowledgeBase(kb)
    conclusions = Conclusions(kb.rules)
    for case in case_list:
        result = advisor.assess(case)
        assert result.to_json() == reference.assess(case).to_json()
        model = _model(sym, case)
        assert [lvl for lvl in TRIAGE_LEVELS if _z3_true(model, sym.triage_is(lvl))] == [result.triage]
        given_ids = set(result.recommendation_ids())
        withheld_ids = set(result.withheld_ids())
        warned = {r.id for r in result.recommendations if r.warnings}
        assert {rec for rec in RECS if _z3_true(model, sym.given(rec))} == given_ids
        assert {rec for rec in RECS if _z3_true(model, sym.withheld(rec))} == withheld_ids
        assert {rec for rec in RECS if _z3_true(model, sym.warned(rec))} == warned
        assert {f for f in kb.findings if _z3_true(model, sym.finding(f))} == set(result.findings)
        assert {r.id for r in kb.rules if _z3_true(model, sym.fires[r.id])} == set(result.fired_rules)
        # The assembly semantics over Python truth values says the same.
        fired = set(result.fired_rules).__contains__
        assert TRIAGE_LEVELS[conclusions.triage(fired, PYTHON)] == result.triage
        assert {rec for rec in RECS if conclusions.given(rec, fired, PYTHON)} == given_ids
        assert {rec for rec in RECS if conclusions.withheld(rec, fired, PYTHON)} == withheld_ids
        assert {rec for rec in RECS if conclusions.warned(rec, fired, PYTHON)} == warned


_OUTCOME_ATOMS = st.one_of(
    st.builds(TriageAtom, st.sampled_from(sorted(OPERATORS)), st.sampled_from(TRIAGE_LEVELS)),
    st.builds(Recommends, st.sampled_from(RECS)),
    st.builds(Withholds, st.sampled_from(RECS)),
)


def _invariant_conditions() -> st.SearchStrategy[Condition]:
    return st.recursive(
        st.one_of(_OUTCOME_ATOMS, _literals(FINDINGS, outside=False)),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda items: All(tuple(items))),
            st.lists(inner, min_size=1, max_size=3).map(lambda items: Any_(tuple(items))),
            inner.map(Not),
        ),
        max_leaves=5,
    )


@SETTINGS
@given(
    kb=knowledge_bases(),
    given_=st.one_of(st.none(), _invariant_conditions()),
    require=_invariant_conditions(),
    case_list=st.lists(cases(), min_size=1, max_size=4),
)
def test_invariant_checks_agree_with_their_proof_formulas(kb, given_, require, case_list):
    """An invariant holds on an assessment exactly when verify's formula says it holds for that case."""
    invariant = Invariant("generated", "generated", given_, require, None, "generated", 0)
    sym, advisor = SymbolicKnowledgeBase(kb), Advisor(kb)
    violated = z3.And(invariant_formula(sym, given_, True), z3.Not(invariant_formula(sym, require, True)))
    for case in case_list:
        model = _model(sym, case)
        assert invariant_holds(invariant, advisor.assess(case)) == (not _z3_true(model, violated)), case


# --- the interview ----------------------------------------------------------------------


@SETTINGS
@given(kb=knowledge_bases(), asked=partial_answers())
def test_interview_decisions_are_sound(kb, asked):
    """A rule the interview calls certain fires in every completion of the answers; one it rules out fires in none."""
    derivers: dict[str, list[RuleSpec]] = {}
    for rule in kb.rules:
        for name in rule.derives:
            derivers.setdefault(name, []).append(rule)
    outlook = _outlook(kb, asked, derivers)
    sym = SymbolicKnowledgeBase(kb)
    solver = sym.solver()
    for name, value in asked.items():  # the answers so far; every other fact is free
        solver.add(sym.vars.known[name] if value is not None else z3.Not(sym.vars.known[name]))
        if value is not None:
            solver.add(sym.vars.value[name] == sym.vars.encode_value(name, value))
    for rule in kb.rules:
        status = outlook.rule_status[rule.id]
        can_fire = solver.check(sym.fires[rule.id]) == z3.sat
        can_miss = solver.check(z3.Not(sym.fires[rule.id])) == z3.sat
        if status == 1:
            assert not can_miss, rule.id
        elif status == 0:
            assert not can_fire, rule.id
        elif not rule.findings_read() and rule.facts_read() <= set(asked):
            raise AssertionError(f"{rule.id} reads only answered facts but was left open")


def test_interview_world_matches_the_definition():
    """With the facts a condition reads all asked, the interview decides it exactly as holds() does."""
    from spasm_advisor.io.interview import _AnswersSoFar, _status

    cond = All((Comparison("n", ">", 3), Any_((Known("a", False), Comparison("e", "!=", "y")))))
    for answers, expected in (
        ({"n": 5, "a": None, "e": "y"}, 1),
        ({"n": 2, "a": True, "e": "x"}, 0),
        ({"n": None, "a": None, "e": "x"}, 0),  # "don't know" for n: n > 3 can never hold
    ):
        assert _status(cond, _AnswersSoFar(answers, {})) == expected
        assert holds(cond, answers) == bool(expected)
        assert _status(Not(cond), _AnswersSoFar(answers, {})) == int(truth(Not(cond), answers) is True)
    # With n not asked yet, the condition is still open.
    assert _status(cond, _AnswersSoFar({"a": True, "e": "x"}, {})) == -1
    assert encode(cond, _AnswersSoFar({"a": True, "e": "x"}, {})) == (None, None)


# --- diff: equivalent rewrites are no change -------------------------------------------


def _polarity_inline(
    cond: Condition,
    positive: bool,
    inline: Mapping[str, tuple[Condition, ...]],
    rng: random.Random,
    enums: Mapping[str, tuple[str, ...]],
) -> Condition:
    """Rewrite ``cond`` into an equivalent form (for rule firing), choosing rewrites with ``rng``."""
    if isinstance(cond, Comparison):
        choice = rng.randrange(4)
        if choice == 1:
            # NAME op VALUE is not (NAME complement VALUE): same three values.
            return Not(Comparison(cond.name, OPERATORS[cond.op].complement, cond.value))
        if choice == 2 and cond.op == "!=":
            # != spelled over the domain: any other value (unknown stays unknown).
            if isinstance(cond.value, bool):
                return Comparison(cond.name, "==", not cond.value)
            if isinstance(cond.value, str):
                return Any_(tuple(Comparison(cond.name, "==", v) for v in enums[cond.name] if v != cond.value))
            return Any_((Comparison(cond.name, "<", cond.value), Comparison(cond.name, ">", cond.value)))
        if choice == 3:
            return Not(Not(cond))
        return cond
    if isinstance(cond, Known):
        return Not(Known(cond.name, not cond.known)) if rng.random() < 0.5 else cond
    if isinstance(cond, FindingRef):
        # A finding is the disjunction of its deriving rules' conditions where only "true" matters:
        # a positive occurrence of "derived", or a negative occurrence of "not derived".
        if cond.name in inline and rng.random() < 0.6:
            if not cond.negated and positive:
                return Any_(inline[cond.name])
            if cond.negated and not positive:
                return Not(Any_(inline[cond.name]))
        return cond
    if isinstance(cond, Not):
        inner = cond.item
        if isinstance(inner, All | Any_) and rng.random() < 0.5:  # De Morgan
            flipped = tuple(Not(item) for item in inner.items)
            flipped_cond = Any_(flipped) if isinstance(inner, All) else All(flipped)
            return _polarity_inline(flipped_cond, positive, inline, rng, enums)
        return Not(_polarity_inline(inner, not positive, inline, rng, enums))
    if isinstance(cond, All | Any_):
        items = [_polarity_inline(item, positive, inline, rng, enums) for item in cond.items]
        rng.shuffle(items)  # all / any reordered
        return All(tuple(items)) if isinstance(cond, All) else Any_(tuple(items))
    return cond


def rewritten(kb: KnowledgeBase, seed: int) -> KnowledgeBase:
    """``kb`` with every rule's condition rewritten into an equivalent form."""
    rng = random.Random(seed)
    enums = {name: spec.values for name, spec in kb.facts.items() if spec.type == "enum"}
    inline = {name: tuple(r.condition for r in kb.rules if name in r.derives) for name in sorted(kb.findings)}
    rules = []
    for rule in kb.rules:
        own = {name: conds for name, conds in inline.items() if name not in rule.derives}
        cond = _polarity_inline(rule.condition, True, own, rng, enums)
        rules.append(dataclasses.replace(rule, condition=cond, dnf=to_dnf(negation_normal_form(cond))))
    return dataclasses.replace(kb, rules=tuple(rules), rule_index=MappingProxyType({r.id: r for r in rules}))


@settings(SETTINGS, max_examples=max(5, settings.default.max_examples // 3))
@given(kb=knowledge_bases(), seed=st.integers(0, 2**16))
def test_diff_of_an_equivalent_rewrite_is_empty(kb, seed):
    """rules diff A A' finds no behaviour change when A' only rewrites conditions equivalently."""
    other = rewritten(kb, seed)
    assume(any(a.condition != b.condition for a, b in zip(kb.rules, other.rules, strict=True)))
    result = diff_knowledge_bases(kb, other)
    assert result.behaviour == (), [change.to_dict() for change in result.behaviour]


def test_rewrites_are_checked_against_the_engine():
    """The rewrites really keep behaviour: the engine agrees on the original and rewritten base."""
    kb = _load(
        _rules(
            {"id": "f1_rule", "when": {"any": ["g", "n > 7"]}, "then": [{"derive": "f1"}]},
            {"id": "use", "when": {"all": ["f1", "e != y", {"not": "a"}]}, "then": [{"recommend": "r1"}]},
            {"id": "other", "when": {"not": "f1"}, "then": [{"recommend": "r2"}, {"triage": "routine"}]},
        )
    )
    original = ReferenceInterpreter(kb)
    for seed in range(5):
        other = rewritten(kb, seed)
        assert other.rules != kb.rules
        engine = Advisor(other)
        for n in (None, 2, 8):
            for e in (None, "x", "y"):
                for a in (None, False, True):
                    case = {k: v for k, v in {"n": n, "e": e, "a": a}.items() if v is not None}
                    got, want = engine.assess(case), original.assess(case)
                    assert (got.triage, got.recommendation_ids()) == (want.triage, want.recommendation_ids())
    assert diff_knowledge_bases(kb, rewritten(kb, 0)).behaviour == ()
    # And a change that is not equivalent is found.
    changed = dataclasses.replace(
        kb,
        rules=tuple(
            dataclasses.replace(r, condition=(c := Comparison("e", "==", "y")), dnf=to_dnf(c)) if r.id == "use" else r
            for r in kb.rules
        ),
    )
    changed = dataclasses.replace(changed, rule_index=MappingProxyType({r.id: r for r in changed.rules}))
    assert diff_knowledge_bases(kb, changed).behaviour


def test_knowledge_base_rewritten_has_the_same_behaviour(spasm_advisor):
    """Every rule of the base under test (the bundled one by default) rewritten equivalently: no change anywhere."""
    kb = spasm_advisor.knowledge_base
    other = rewritten(kb, 2026)
    assert sum(a.condition != b.condition for a, b in zip(kb.rules, other.rules, strict=True)) > len(kb.rules) // 3
    result = diff_knowledge_bases(kb, other)
    assert result.behaviour == (), [change.to_dict() for change in result.behaviour[:3]]
