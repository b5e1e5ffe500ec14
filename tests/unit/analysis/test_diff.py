"""rules diff: a changed threshold shows as a changed rule and a behavioural region with a real example."""

from __future__ import annotations

from locations import DATA

from spasm_advisor import Advisor
from spasm_advisor.analysis.diff import diff_knowledge_bases

MINI_KNOWLEDGE = DATA / "mini" / "knowledge"


def test_diff_one_threshold():
    """Changing one threshold shows as a changed rule and a behavioural region with an example."""
    old = Advisor.from_paths(DATA / "mini" / "rules", MINI_KNOWLEDGE, sealed=False)
    new = Advisor.from_paths(DATA / "threshold_changed" / "rules", MINI_KNOWLEDGE, sealed=False)
    result = diff_knowledge_bases(old, new)
    assert result.rules_changed == (("older", ("when",)),)
    assert result.behaviour_changed
    triage = [c for c in result.behaviour if c.aspect == "triage"]
    assert triage
    assert all((c.old, c.new) == ("routine", "self_care") for c in triage)
    for change in result.behaviour:
        assert "age >= 50" in change.condition
        assert "age < 60" in change.condition
        example = change.example
        assert 50 <= example["age"] < 60
        # The example really is assessed differently by the two engines.
        assert old.assess(example).to_dict() != new.assess(example).to_dict()


def test_diff_identical_is_empty(mini):
    """A knowledge base compared with itself has no difference."""
    result = diff_knowledge_bases(mini, mini)
    assert not result.behaviour_changed
    assert result.rules_changed == ()
