"""The condition language: parsing, three-valued negation, normal forms."""

from __future__ import annotations

import pytest

from spasm_advisor.kb.conditions import (
    All,
    Any_,
    Comparison,
    ConditionSyntaxError,
    FindingRef,
    Known,
    Name,
    Not,
    evaluate,
    negation_normal_form,
    parse_condition,
    render,
    to_dnf,
)


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("numbness", Name("numbness")),
            ("age >= 50", Comparison("age", ">=", 50)),
            ("posture == poor", Comparison("posture", "==", "poor")),
            ("fever == false", Comparison("fever", "==", False)),
            ("duration_days<28", Comparison("duration_days", "<", 28)),
            ("fever is unknown", Known("fever", False)),
            ("fever is known", Known("fever", True)),
        ],
    )
    def test_atoms(self, text, expected):
        """String atoms parse into the matching node."""
        assert parse_condition(text) == expected

    def test_nested(self):
        """all/any/not nest."""
        cond = parse_condition({"all": ["a", {"any": ["b", {"not": "c"}]}]})
        assert cond == All((Name("a"), Any_((Name("b"), Not(Name("c"))))))

    @pytest.mark.parametrize(
        "raw",
        ["age => 5", "__import__('os')", "a and b", {"all": []}, {"xor": ["a"]}, {"all": "a", "any": "b"}, 5, None],
    )
    def test_rejects(self, raw):
        """Anything outside the whitelist is a syntax error, never evaluated."""
        with pytest.raises(ConditionSyntaxError):
            parse_condition(raw)


class TestThreeValued:
    def test_not_comparison_needs_known(self):
        """not (age < 16) is age >= 16: false while age is unknown."""
        nnf = negation_normal_form(Not(Comparison("age", "<", 16)))
        assert nnf == Comparison("age", ">=", 16)
        assert not evaluate(nnf, {"age": None}, set())
        assert not evaluate(Comparison("age", "<", 16), {"age": None}, set())
        assert evaluate(nnf, {"age": 30}, set())

    def test_not_boolean_is_answered_no(self):
        """not numbness holds only when numbness was answered no."""
        nnf = negation_normal_form(Not(Comparison("numbness", "==", True)))
        assert evaluate(nnf, {"numbness": False}, set())
        assert not evaluate(nnf, {"numbness": None}, set())
        assert not evaluate(nnf, {"numbness": True}, set())

    def test_de_morgan(self):
        """not (a or b) becomes (not a) and (not b)."""
        nnf = negation_normal_form(Not(Any_((Comparison("a", "==", True), FindingRef("f")))))
        assert nnf == All((Comparison("a", "!=", True), FindingRef("f", negated=True)))

    def test_unknown_is_two_valued(self):
        """'is unknown' negates to 'is known'."""
        assert negation_normal_form(Not(Known("x", False))) == Known("x", True)

    def test_findings_closed_world(self):
        """A finding not derived is absent."""
        assert evaluate(FindingRef("f", negated=True), {}, set())
        assert not evaluate(FindingRef("f", negated=True), {}, {"f"})


def test_dnf_distributes():
    """(a or b) and c gives two branches."""
    a, b, c = (Comparison(n, "==", True) for n in "abc")
    assert to_dnf(All((Any_((a, b)), c))) == ((a, c), (b, c))


def test_render_readable():
    """Rendering gives the plain form clinicians read."""
    assert render(Comparison("numbness", "==", True)) == "numbness"
    assert render(Comparison("numbness", "!=", True)) == "numbness = no"
    assert render(FindingRef("red_flag_present", negated=True)) == "no red_flag_present"
    assert render(Comparison("age", ">=", 50)) == "age >= 50"
