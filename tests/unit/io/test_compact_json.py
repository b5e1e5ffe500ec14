"""CompactJSON writes exactly what json.dumps(assessment.to_dict()) writes, whatever the case."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from spasm_advisor import Advisor
from spasm_advisor.inference.reference import ReferenceInterpreter
from spasm_advisor.io.compact_json import CompactJSON
from spasm_advisor.testing import cases, red_flag_cases

ENCODER = CompactJSON()


def dumps(assessment, line=None):
    data = assessment.to_dict() if line is None else {"line": line, **assessment.to_dict()}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@given(data=st.data())
def test_same_bytes_as_json_dumps(spasm_advisor, data):
    """Any case of the knowledge base under test: the same bytes as json.dumps, with or without a line."""
    assessment = spasm_advisor.assess(data.draw(cases(spasm_advisor.knowledge_base)))
    assert ENCODER.encode(assessment) == dumps(assessment)
    assert ENCODER.encode(assessment, line=12) == dumps(assessment, 12)


@given(data=st.data())
def test_same_bytes_with_red_flags_and_withheld_items(spasm_advisor, data):
    """Cases with red flags (referrals, withheld items): the same bytes as json.dumps."""
    assessment = spasm_advisor.assess(data.draw(red_flag_cases(spasm_advisor.knowledge_base)))
    assert ENCODER.encode(assessment, line=1) == dumps(assessment, 1)


def test_assessments_from_other_assemblers_are_not_mixed_up(advisor, mini):
    """Pieces cached for one knowledge base or assembler are never reused for another's objects."""
    encoder = CompactJSON()
    reference = ReferenceInterpreter(advisor.knowledge_base)  # a new assembler per assessment
    for case in ({"saddle_anaesthesia": True, "age": 70}, {"fever": True, "on_anticoagulants": True}, {}):
        for assessment in (advisor.assess(case), reference.assess(case), mini.assess({"numbness": True})):
            assert encoder.encode(assessment) == dumps(assessment)


def test_non_ascii_text_is_written_as_is(tmp_path):
    """Titles and reasons with non-ASCII characters come out as json.dumps writes them (not escaped)."""
    rules, knowledge = tmp_path / "rules", tmp_path / "knowledge"
    rules.mkdir()
    knowledge.mkdir()
    (knowledge / "sources.yaml").write_text('version: 1\nsources:\n  - {id: src, title: "Sourcé “quoted”"}\n')
    (knowledge / "facts.yaml").write_text(
        "version: 1\nfacts:\n  - {id: flag, type: boolean, question: q, description: d, role: red_flag}\n"
        "  - {id: age, type: integer, min: 0, question: q, description: d, role: context}\n"
    )
    (knowledge / "recommendations.yaml").write_text(
        'version: 1\nrecommendations:\n  - {id: rest, category: relief, title: "Rést \\\\ \\"now\\"", advice: "Ça va\\n",'
        " evidence: [{source: src, level: weak}], sources: [src]}\n"
    )
    (knowledge / "hazards.yaml").write_text("version: 1\nhazards: []\n")
    (rules / "r.yaml").write_text(
        'version: 1\nrules:\n  - {id: r1, title: "Flag → rest", when: {all: [flag, age > 3]}, then: [{recommend: rest}],'
        ' because: "é\\ttab", sources: [src]}\n'
    )
    advisor = Advisor.from_paths(rules, knowledge, sealed=False)  # written here, never sealed
    assessment = advisor.assess({"flag": True, "age": 40})
    assert [r.id for r in assessment.recommendations] == ["rest"]
    assert CompactJSON().encode(assessment, line=3) == dumps(assessment, 3)
