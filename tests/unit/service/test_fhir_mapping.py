"""The FHIR -> facts table: it loads fail-closed, and chart data can only say yes."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys

import pytest
from locations import REPO

from spasm_advisor import Advisor, KnowledgeBaseError
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.service.fhir_mapping import (
    MAPPING_FILE,
    FhirResourceError,
    load_fhir_mapping,
    parse_resource,
    read_chart,
    resources_in,
)

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base
MAPPING = load_fhir_mapping(bundled_knowledge_dir(), KB, label="knowledge")
TODAY = datetime.date(2026, 12, 1)
SNOMED = "http://snomed.info/sct"


def chart(*resources):
    return read_chart(MAPPING, KB, [parse_resource(r, "test") for r in resources], today=TODAY)


def condition(code, system=SNOMED, status="active", verification=None):
    resource = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if status:
        resource["clinicalStatus"] = {"coding": [{"code": status}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"code": verification}]}
    return resource


def test_every_row_names_a_real_fact_and_a_sourced_code():
    for rule in (*MAPPING.conditions, *MAPPING.medications, *MAPPING.allergies):
        assert KB.facts[rule.fact].type == "boolean"
        for code in rule.codes:
            assert code.display
            assert code.source
            assert code.system in MAPPING.systems.values()
    for order in MAPPING.orders:
        assert set(order.recommendations) <= set(KB.recommendations)
    assert set(MAPPING.facts_read()) <= set(KB.facts)


def test_chart_data_only_ever_says_yes():
    everything = []
    for rule in MAPPING.conditions:
        everything += [condition(c.code + ("0" if c.prefix else ""), c.system) for c in rule.codes]
    reading = chart(*everything)
    assert reading.facts
    assert all(v is True for v in reading.facts.values())


@pytest.mark.parametrize(
    ("resource", "fact", "value"),
    [
        (condition("64859006"), "osteoporosis", True),
        (condition("M81.0", "http://hl7.org/fhir/sid/icd-10-cm"), "osteoporosis", True),  # category prefix
        (condition("M8", "http://hl7.org/fhir/sid/icd-10-cm"), "osteoporosis", None),  # shorter is not a match
        (condition("64859006", status="resolved"), "osteoporosis", None),
        (condition("64859006", status=None), "osteoporosis", True),  # no status: the safe side
        (condition("64859006", verification="refuted"), "osteoporosis", None),
        (condition("64859006", system="http://example.org/other"), "osteoporosis", None),
        (condition("363346000", status="resolved"), "history_of_cancer", True),  # "ever had"
    ],
)
def test_condition_rows(resource, fact, value):
    assert chart(resource).facts.get(fact) is value


def medication(code, start, status="active"):
    return {
        "resourceType": "MedicationStatement",
        "status": status,
        "subject": {"reference": "Patient/1"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}]
        },
        "effectiveDateTime": start,
    }


def test_long_term_steroids_need_the_minimum_duration():
    assert chart(medication("8638", "2026-08-01")).facts.get("long_term_steroids") is True  # 122 days
    assert chart(medication("8638", "2026-10-01")).facts.get("long_term_steroids") is None  # 61 days
    assert chart(medication("8638", "2020-01-01", status="stopped")).facts.get("long_term_steroids") is None


def test_contained_medication_is_read():
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": "Patient/1"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "B01AC06"}]},
            }
        ],
        "medicationReference": {"reference": "#m"},
    }
    assert chart(statement).facts == {"takes_low_dose_aspirin": True}


def observation(code, when, **value):
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": when,
        **value,
    }


def test_observations_newest_recent_value_and_thresholds():
    pain = chart(
        observation("72514-3", "2026-11-29", valueInteger=3), observation("72514-3", "2026-11-30", valueInteger=8)
    )
    assert pain.facts == {"pain_severity": 8}
    assert chart(observation("72514-3", "2026-10-01", valueInteger=8)).facts == {}  # older than 7 days
    assert chart(observation("72514-3", "2026-11-30", valueInteger=11)).facts == {}  # outside 0-10
    hot = observation(
        "8310-5", "2026-11-30", valueQuantity={"value": 38.2, "code": "Cel", "system": "http://unitsofmeasure.org"}
    )
    normal = observation(
        "8310-5", "2026-11-30", valueQuantity={"value": 36.8, "code": "Cel", "system": "http://unitsofmeasure.org"}
    )
    assert chart(hot).facts == {"fever": True}
    assert chart(normal).facts == {}  # a normal reading does not rule out fever: unknown, not no


def test_age_needs_a_full_birth_date():
    assert chart({"resourceType": "Patient", "birthDate": "1958-12-02"}).facts == {"age": 67}
    assert chart({"resourceType": "Patient", "birthDate": "1958-12-01"}).facts == {"age": 68}
    assert chart({"resourceType": "Patient", "birthDate": "1958"}).facts == {}


def copy_knowledge(tmp_path):
    folder = tmp_path / "knowledge"
    shutil.copytree(bundled_knowledge_dir(), folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_missing_mapping_file_is_an_error(tmp_path):
    folder = copy_knowledge(tmp_path)
    (folder / MAPPING_FILE).unlink()
    with pytest.raises(KnowledgeBaseError, match="cannot read the FHIR mapping"):
        load_fhir_mapping(folder, KB)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("- fact: osteoporosis", "- fact: osteoporosiss", "unknown fact 'osteoporosiss'"),
        ("- fact: pain_severity", "- fact: fever", "needs a integer fact"),
        ('{system: snomed, code: "64859006"', '{system: sct, code: "64859006"', "unknown system 'sct'"),
        ("recommendations: [nsaid_pain_relief]", "recommendations: [nsaid]", "unknown recommendation"),
        ("    min_days: 90", "    min_days: 0", "min_days"),
    ],
)
def test_broken_mapping_names_file_and_line(tmp_path, old, new, message):
    folder = copy_knowledge(tmp_path)
    path = folder / MAPPING_FILE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError, match=message) as info:
        load_fhir_mapping(folder, KB)
    assert info.value.path.endswith(MAPPING_FILE)
    assert info.value.line


def test_core_import_loads_no_web_framework():
    code = "import sys, spasm_advisor, spasm_advisor.io.cds_hooks, spasm_advisor.service.feedback; " + (
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'fastapi', 'uvicorn', 'httpx', 'fhir')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docs_print_every_code_of_the_table():

    doc = (REPO / "docs" / "service.md").read_text()
    for rule in (*MAPPING.conditions, *MAPPING.medications, *MAPPING.allergies, *MAPPING.orders):
        for code in rule.codes:
            assert f"`{code.code}`" in doc, code
    for row in MAPPING.observations:
        assert f"`{row.code.code}`" in doc


# --- parsing Bundles ---------------------------------------------------------------


def _bundle(*resources):
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def test_bundle_entries_are_validated_one_by_one_naming_the_field():
    bad = {"resourceType": "Condition", "code": {"text": "x"}}  # no subject
    with pytest.raises(FhirResourceError) as info:
        parse_resource(_bundle(condition("64859006"), bad), "prefetch.conditions")
    assert info.value.field == "prefetch.conditions.entry[1].resource.subject"


def test_bundle_entries_of_types_not_read_are_skipped_but_must_name_a_type():
    encounter = {"resourceType": "Encounter", "status": "finished"}  # no class: not valid FHIR; not read either
    read = parse_resource(_bundle(condition("64859006"), encounter), "p", kinds={"Condition"})
    assert [r.get_resource_type() for r in resources_in(read)] == ["Condition"]
    assert read.skipped == 1
    with pytest.raises(FhirResourceError) as info:  # asked for, the same entry is validated and refused
        parse_resource(_bundle(condition("64859006"), encounter), "p", kinds={"Condition", "Encounter"})
    assert info.value.field == "p.entry[1].resource.class"
    with pytest.raises(FhirResourceError) as info:
        parse_resource(_bundle({"resourceType": "NoSuchType"}), "p", kinds={"Condition"})
    assert info.value.field == "p.entry[0].resource.resourceType"
    with pytest.raises(FhirResourceError) as info:
        parse_resource({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": "x"}]}, "p")
    assert info.value.field == "p.entry[0].resource"


def test_bundle_envelope_is_validated_too():
    with pytest.raises(FhirResourceError) as info:
        parse_resource({"resourceType": "Bundle", "type": "searchset", "total": "many", "entry": []}, "p")
    assert info.value.field == "p.total"
    with pytest.raises(FhirResourceError) as info:
        parse_resource({"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": 5}]}, "p")
    assert info.value.field.startswith("p.entry[0].fullUrl")


def test_a_bundle_reads_like_its_entries():
    resources = [
        {"resourceType": "Patient", "id": "1", "birthDate": "1958-03-14"},
        condition("64859006"),
    ]
    assert chart(_bundle(*resources)).facts == chart(*resources).facts == {"age": 68, "osteoporosis": True}
