"""The engine end to end on a small knowledge base: semantics and explanations."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

import pytest
from locations import REPO

from spasm_advisor import Advisor
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.io.reader import read_case_file
from spasm_advisor.kb.resources import bundled_knowledge_dir


def test_red_flag_refers(mini):
    """A red flag derives the finding, sets triage and refers."""
    result = mini.assess({"numbness": True})
    assert result.triage == "urgent"
    assert result.recommendation_ids() == ("see_doctor",)
    assert result.fired_rules == ("flag", "refer")
    assert result.findings == ("red_flag_present",)


def test_unknown_red_flags_listed_not_assumed(mini):
    """Unanswered red flags do not raise triage but are listed."""
    result = mini.assess({})
    assert result.triage == "self_care"
    assert result.unanswered_red_flags == ("numbness", "fever")
    assert mini.assess({"numbness": False, "fever": False}).unanswered_red_flags == ()


def test_highest_triage_wins(mini):
    """The triage is the highest level any fired rule sets."""
    assert mini.assess({"age": 60}).triage == "routine"
    assert mini.assess({"age": 60, "fever": True}).triage == "urgent"


def test_withhold_removes_and_says_why(mini):
    """A contraindication withholds a recommendation with its rule and reason, and never lowers triage."""
    result = mini.assess({"on_anticoagulants": True, "age": 60})
    assert "painkiller" not in result.recommendation_ids()
    assert "rest" in result.recommendation_ids()
    (item,) = result.withheld
    assert (item.id, item.rule, item.reason) == ("painkiller", "no_painkiller_on_anticoagulants", "Bleeding risk.")
    assert item.recommended_by == ("self_care",)
    assert result.triage == "routine"


def test_caution_attaches_warning(mini):
    """A caution action attaches a warning to the recommendation it names."""
    result = mini.assess({})
    (painkiller,) = [r for r in result.recommendations if r.id == "painkiller"]
    assert [w.message for w in painkiller.warnings] == ["Take with food."]
    assert painkiller.cautions == ("Not with blood thinners.",)


def test_explanation_chain_reaches_input_facts(mini):
    """A recommendation's explanation goes from its rule through findings to input facts."""
    result = mini.assess({"fever": True, "numbness": False})
    (referral,) = result.recommendations
    (node,) = referral.explanation
    assert node.rule == "refer"
    assert node.findings == ("red_flag_present",)
    (child,) = node.derived_from
    assert child.rule == "flag"
    assert dict(child.facts) == {"fever": True}
    assert child.sources[0].id == "test_source"


def test_explanation_cites_unverified_sources(mini):
    """A citation marked unverified stays marked in the explanation."""
    node = mini.assess({"age": 70}).triage_explanation[0]
    assert node.rule == "older"
    assert node.sources[0].verified is False
    assert node.sources[0].ref == "1.2"


def test_json_contract(mini):
    """to_dict has the contract keys; to_json is stable."""
    result = mini.assess({"numbness": True, "age": 60})
    data = result.to_dict()
    for key in ("triage", "recommendations", "withheld", "unanswered_red_flags", "fired_rules", "knowledge_base"):
        assert key in data
    assert set(data["knowledge_base"]) == {"version", "digest"}
    for rec in data["recommendations"]:
        for key in ("id", "category", "title", "advice", "evidence", "sources", "explanation"):
            assert key in rec
    assert json.loads(result.to_json()) == data
    assert mini.assess({"age": 60, "numbness": True}).to_json() == result.to_json()


def test_engine_reused_between_cases(mini):
    """Reusing the engine leaves nothing behind from the previous case."""
    first = mini.assess({"numbness": True}).to_json()
    mini.assess({"age": 90, "on_anticoagulants": True})
    assert mini.assess({"numbness": True}).to_json() == first


def test_threads_get_identical_results(mini):
    """Concurrent use from threads gives the same answers as sequential use."""
    cases = [{"numbness": i % 2 == 0, "age": 20 + i, "on_anticoagulants": i % 3 == 0} for i in range(40)]
    expected = [mini.assess(c).to_json() for c in cases]
    results: dict[int, list[str]] = {}

    def work(n: int) -> None:
        results[n] = [mini.assess(c).to_json() for c in cases]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results.values())


def test_import_leaves_logging_alone():
    """Importing the library adds no handler to the root logger."""
    code = "import logging; import spasm_advisor; from spasm_advisor import Advisor; print(len(logging.getLogger().handlers))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    assert out.stderr == ""


def test_library_does_not_print(mini, capsys):
    """Assessing prints nothing and logs nothing above debug."""
    logging.getLogger().setLevel(logging.DEBUG)
    mini.assess({"numbness": True})
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_public_api_exports():
    """spasm_advisor.__all__ lists every public name once, and each exists."""
    import spasm_advisor

    assert len(set(spasm_advisor.__all__)) == len(spasm_advisor.__all__)
    for name in spasm_advisor.__all__:
        assert hasattr(spasm_advisor, name)
    public = {
        n
        for n in dir(spasm_advisor)
        if not n.startswith("_") and not isinstance(getattr(spasm_advisor, n), type(spasm_advisor))
    }
    assert public <= set(spasm_advisor.__all__)


def test_stock_and_fast_matchers_agree_on_the_bundled_cases(advisor):
    """Every bundled clinical case and example gives byte-identical JSON on experta's stock matcher."""
    stock = Advisor.default(matcher="stock")
    cases = [case.facts for case in load_clinical_cases(bundled_knowledge_dir() / "cases")]
    cases += [read_case_file(str(path)) for path in sorted((REPO / "examples").glob("*.yaml"))]
    assert len(cases) > 50
    for facts in cases:
        assert stock.assess(facts).to_json() == advisor.assess(facts).to_json()


def test_unknown_matcher_is_refused(mini):
    """A matcher name other than fast or stock is a ValueError naming both."""
    with pytest.raises(ValueError, match="matcher must be one of 'fast', 'stock', got 'quick'"):
        Advisor(mini.knowledge_base, matcher="quick")  # type: ignore[arg-type]


def test_session_on_the_stock_matcher_equals_a_fresh_assessment(mini):
    """A session follows the advisor's matcher and still equals a fresh assessment after each change."""
    stock = Advisor(mini.knowledge_base, matcher="stock")
    session = stock.session()
    for name, value in (("numbness", True), ("age", 60), ("numbness", None), ("on_anticoagulants", True)):
        session.set(name, value)
        assert (
            session.assessment().to_json()
            == stock.assess(session.facts).to_json()
            == mini.assess(session.facts).to_json()
        )
