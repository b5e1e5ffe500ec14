"""JSON Schemas from the knowledge base.

assess --json validates against `schema output`; `schema input` agrees with the case validator.
"""

from __future__ import annotations

import json

import pytest
from cli_runner import run
from hypothesis import given
from hypothesis import strategies as st
from locations import DATA

from spasm_advisor import CaseError
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.io.schema import input_schema, output_schema
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.testing import cases, invalid_cases

jsonschema = pytest.importorskip("jsonschema")

MINI = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]


@pytest.fixture(scope="module", name="output_validator")
def _output_validator():
    """A validator for the output schema printed by the command line."""
    out = run("schema", "output")
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module", name="input_validator")
def _input_validator(spasm_advisor):
    """A validator for the input schema of the knowledge base under test."""
    schema = input_schema(spasm_advisor.knowledge_base)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module", name="kb_output_validator")
def _kb_output_validator(spasm_advisor):
    """A validator for the output schema of the knowledge base under test."""
    schema = output_schema(spasm_advisor.knowledge_base)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_input_lists_every_fact(advisor):
    """`schema input` has every fact with its type, range or values and description, nothing else allowed."""
    out = run("schema", "input")
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    kb = advisor.knowledge_base
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(kb.facts)
    age = schema["properties"]["age"]
    assert age["type"] == ["integer", "null"]
    assert (age["minimum"], age["maximum"]) == (0, 120)
    assert age["description"].startswith("Age in whole years.")
    assert age["title"] == kb.facts["age"].question
    assert schema["properties"]["posture"]["enum"] == ["good", "poor", None]
    assert schema["properties"]["numbness"]["type"] == ["boolean", "null"]


def test_schema_follows_another_knowledge_base():
    """--rules/--knowledge give the schema of that knowledge base."""
    out = run("schema", "input", *MINI)
    assert out.returncode == 0, out.stderr
    assert "sharp_pain" not in json.loads(out.stdout)["properties"]
    assert "numbness" in json.loads(out.stdout)["properties"]


def test_schema_usage_error():
    """A missing or unknown schema name is a usage error (exit 2)."""
    out = run("schema", "middle")
    assert out.returncode == 2
    assert "invalid choice" in out.stderr


def test_assess_json_validates(output_validator):
    """The output of `assess --json` (CES, benign, contraindicated) validates against `schema output`."""
    for case in (
        {"age": 35, "saddle_anaesthesia": True},
        {"age": 30, "duration_days": 2, "posture": "poor", "numbness": False},
        {"on_anticoagulants": True, "kidney_disease": True, "pregnant": True, "fever": None},
    ):
        out = run("assess", "-", "--json", stdin=json.dumps(case))
        assert out.returncode == 0, out.stderr
        errors = [e.message for e in output_validator.iter_errors(json.loads(out.stdout))]
        assert not errors, (case, errors[:3])


def test_every_clinical_case_validates(advisor, output_validator):
    """The JSON assessment of every bundled clinical case validates against the output schema."""
    for case in load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases"):
        data = json.loads(advisor.assess(case.facts).to_json())
        errors = [e.message for e in output_validator.iter_errors(data)]
        assert not errors, (case.id, errors[:3])


@given(data=st.data())
def test_generated_assessments_validate(spasm_advisor, kb_output_validator, data):
    """The JSON of any generated case's assessment validates against the output schema."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    output = json.loads(spasm_advisor.assess(case).to_json())
    errors = [e.message for e in kb_output_validator.iter_errors(output)]
    assert not errors, errors[:3]


def test_output_schema_is_not_vacuous(advisor, output_validator):
    """A wrong triage, an unknown rule id, a missing key or an extra key are each rejected."""
    good = json.loads(advisor.assess({"numbness": True, "on_anticoagulants": True}).to_json())
    assert output_validator.is_valid(good)
    for mutate in (
        lambda d: d.update(triage="severe"),
        lambda d: d["fired_rules"].append("no_such_rule"),
        lambda d: d.pop("withheld"),
        lambda d: d.update(extra=1),
        lambda d: d["case"].update(numbness="yes"),
        lambda d: d["recommendations"][0].update(category="magic"),
        lambda d: d["triage_explanation"][0].update(rule=3),
    ):
        bad = json.loads(json.dumps(good))
        mutate(bad)
        assert not output_validator.is_valid(bad)


@given(data=st.data())
def test_input_schema_accepts_valid_cases(spasm_advisor, input_validator, data):
    """Every case the validator accepts, the input schema accepts."""
    assert input_validator.is_valid(data.draw(cases(spasm_advisor.knowledge_base)))


@given(data=st.data())
def test_input_schema_rejects_invalid_cases(spasm_advisor, input_validator, data):
    """Every invalid case (unknown key, wrong type, out of range) is rejected by schema and validator."""
    case, _field = data.draw(invalid_cases(spasm_advisor.knowledge_base))
    with pytest.raises(CaseError):
        spasm_advisor.case(case)
    if not any(isinstance(v, float) and v.is_integer() for v in case.values()):  # JSON Schema: 3.0 is an integer
        assert not input_validator.is_valid(case)


def test_output_schema_library_matches_cli(advisor):
    """The library's output_schema is what `schema output` prints."""
    out = run("schema", "output")
    assert json.loads(out.stdout) == json.loads(json.dumps(output_schema(advisor.knowledge_base)))
