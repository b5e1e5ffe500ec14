"""rules diff across vocabularies: behaviour is compared over the cases both versions accept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import Advisor
from spasm_advisor.analysis.diff import diff_knowledge_bases, render_diff

MINI = DATA / "mini"

REST_RULE = """
  - id: rest_when_numb
    title: Rest when numb
    when: {{all: [numbness, "{posture}"]}}
    then:
      - recommend: rest
    because: Test.
    sources: [test_source]
"""


def _base(folder: Path, posture_values: str, posture_condition: str) -> Advisor:
    shutil.copytree(MINI, folder)
    facts = folder / "knowledge" / "facts.yaml"
    facts.write_text(facts.read_text().replace("values: [good, poor]", f"values: [{posture_values}]"))
    rules = folder / "rules" / "main.yaml"
    rules.write_text(rules.read_text() + REST_RULE.format(posture=posture_condition))
    return Advisor.from_paths(folder / "rules", folder / "knowledge", sealed=False)


def test_not_equal_to_a_dropped_value_is_is_known(tmp_path):
    """Old 'posture != slouched' and new 'posture is known' (slouched dropped) behave the same.

    The regression: the diff used to treat '!=' against a value outside the
    merged vocabulary as true even when posture was unknown, and reported
    "recommends rest: yes -> no when numbness and posture is unknown".
    """
    old = _base(tmp_path / "old", "good, poor, slouched", "posture != slouched")
    new = _base(tmp_path / "new", "good, poor", "posture is known")
    result = diff_knowledge_bases(old, new)
    assert result.behaviour == ()
    assert not result.behaviour_changed
    assert result.rules_changed == (("rest_when_numb", ("when",)),)
    assert result.facts_changed == ("posture",)
    assert result.to_dict()["facts"]["changed"] == ["posture"]
    # On every case both accept, the two engines agree on rest.
    for numbness in (None, True, False):
        for posture in (None, "good", "poor"):
            case = {k: v for k, v in {"numbness": numbness, "posture": posture}.items() if v is not None}
            assert ("rest" in old.assess(case).recommendation_ids()) == (
                "rest" in new.assess(case).recommendation_ids()
            ), case
    assert "Behaviour: unchanged for every possible case." in render_diff(result)


def test_real_change_on_common_values_is_still_reported(tmp_path):
    """Dropping slouched and also changing the rule's meaning on 'good' is a behaviour change."""
    old = _base(tmp_path / "old", "good, poor, slouched", "posture != slouched")
    new = _base(tmp_path / "new", "good, poor", "posture == poor")
    result = diff_knowledge_bases(old, new)
    rest = [c for c in result.behaviour if c.aspect == "recommends rest"]
    assert [(c.old, c.new) for c in rest] == [("yes", "no")]
    (change,) = rest
    assert change.example.get("posture") == "good"
    assert "rest" in old.assess(change.example).recommendation_ids()
    assert "rest" not in new.assess(change.example).recommendation_ids()


@pytest.mark.parametrize("direction", ["old", "new"])
def test_a_fact_whose_type_changed_is_compared_unanswered(tmp_path, direction):
    """A fact that is an enum in one version and yes/no in the other can only be unknown in both."""
    enum = _base(tmp_path / "enum", "good, poor", "posture is known")
    boolean_dir = tmp_path / "boolean"
    shutil.copytree(MINI, boolean_dir)
    facts = boolean_dir / "knowledge" / "facts.yaml"
    facts.write_text(facts.read_text().replace("type: enum\n    values: [good, poor]", "type: boolean"))
    rules = boolean_dir / "rules" / "main.yaml"
    rules.write_text(rules.read_text() + REST_RULE.format(posture="posture"))
    boolean = Advisor.from_paths(boolean_dir / "rules", boolean_dir / "knowledge", sealed=False)
    old, new = (enum, boolean) if direction == "old" else (boolean, enum)
    result = diff_knowledge_bases(old, new)
    assert result.facts_changed == ("posture",)
    # Both need posture answered to recommend rest; with posture unknown neither does.
    assert result.behaviour == ()
