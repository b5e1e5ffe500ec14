"""The JSON API, the FHIR Questionnaire and every bad request, over HTTP against the real server."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from service_support import PATIENT_VIEW, load

from spasm_advisor import Advisor
from spasm_advisor.io.schema import input_schema, output_schema
from spasm_advisor.service.middleware import WORKER_HEADER, server_timing
from spasm_advisor.service.questionnaire import QUESTIONNAIRE_URL, VALUE_SYSTEM, emergency_signs

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base
CASE = {"age": 35, "duration_days": 3, "posture": "poor", "numbness": False, "on_anticoagulants": True}


def test_assess_answers_the_output_contract(client):
    response = client.post("/assess", json=CASE)
    assert response.status_code == 200
    assert response.json() == ADVISOR.assess(CASE).to_dict()


def test_assess_accepts_the_interviews_questionnaire_response(client):
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "item": [
            {
                "linkId": "group-x",
                "item": [
                    {"linkId": "age", "answer": [{"valueInteger": 35}]},
                    {"linkId": "duration_days", "answer": [{"valueInteger": 3}]},
                    {"linkId": "posture", "answer": [{"valueCoding": {"system": VALUE_SYSTEM, "code": "poor"}}]},
                    {"linkId": "numbness", "answer": [{"valueBoolean": False}]},
                    {"linkId": "on_anticoagulants", "answer": [{"valueBoolean": True}]},
                    {"linkId": "fever"},  # shown, not answered: unknown
                ],
            }
        ],
    }
    data = client.post("/assess", json=response).json()
    assert data == ADVISOR.assess(CASE).to_dict()
    assert "fever" in data["unanswered_red_flags"]


def test_explain_and_why_not(client):
    assert client.post("/explain", json=CASE).json() == ADVISOR.assess(CASE).explain()
    answer = client.post("/why-not", json={"case": CASE, "recommendation": "nsaid_pain_relief"}).json()
    assert answer == ADVISOR.why_not(CASE, "nsaid_pain_relief").to_dict()
    assert answer["status"] == "withheld"
    assert answer["withheld_by"][0]["rule"] == "nsaid_withhold_anticoagulants"


def test_schemas_catalogue_health_version(client):
    assert client.get("/schema/input").json() == input_schema(KB)
    assert client.get("/schema/output").json() == output_schema(KB)
    assert [r["id"] for r in client.get("/catalogue").json()] == list(KB.recommendations)
    assert client.get("/healthz").json() == {"status": "ok"}
    version = client.get("/version").json()
    assert version["knowledgeBase"] == {"version": KB.version, "digest": KB.digest}
    assert version["fhirMapping"].startswith("sha256:")


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    for path in ("/assess", "/why-not", "/explain", "/cds-services/{service_id}", "/schema/input", "/version"):
        assert path in spec["paths"]
    assert spec["components"]["schemas"]["Case"]["properties"].keys() == input_schema(KB)["properties"].keys()
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/docs.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_questionnaire_is_valid_r4_with_enable_when_in_interview_order(client):
    response = client.get("/fhir/Questionnaire/spasm-interview")
    assert response.headers["content-type"].startswith("application/fhir+json")
    data = response.json()
    Questionnaire.model_validate(data)  # a valid FHIR resource
    questions = [q for group in data["item"] for q in group["item"]]
    # Facts recording a "don't know" are set by their question, never asked themselves.
    assert sorted(q["linkId"] for q in questions) == sorted(
        f for f, spec in KB.facts.items() if spec.dont_know_for is None
    )
    signs = emergency_signs(ADVISOR)
    assert signs
    assert all(ADVISOR.assess({s: True}).triage == "emergency" for s in signs)
    seen: list[str] = []
    for question in questions:
        conditions = question.get("enableWhen", [])
        assert [c["question"] for c in conditions] == [s for s in signs if s in seen]
        assert all(c == {"question": c["question"], "operator": "!=", "answerBoolean": True} for c in conditions)
        seen.append(question["linkId"])
    assert seen[0] == signs[0]  # an emergency sign is asked first


def test_audit_report_is_served(client):
    page = client.get("/audit-report")
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    assert "rule-" in page.text


# --- bad requests ---------------------------------------------------------------------


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    (first, *_) = body["errors"]
    assert set(first) == {"field", "message", "expected"}
    return first


@pytest.mark.parametrize("path", ["/assess", "/explain", "/why-not", f"/cds-services/{PATIENT_VIEW}"])
def test_malformed_json_is_400(client, path):
    error = error_of(client.post(path, content=b'{"age": 30,', headers={"Content-Type": "application/json"}), 400)
    assert error["field"] == "body"
    assert "invalid JSON" in error["message"]


@pytest.mark.parametrize("body", [b"NaN", b'{"age": NaN}', b'{"age": 1, "age": 2}', b"\xff\xfe{}"])
def test_not_quite_json_is_400(client, body):
    error_of(client.post("/assess", content=body, headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    error = error_of(client.post("/assess", content=b"{}", headers=headers), 415)
    assert error["field"] == "Content-Type"


def test_unknown_hook_service_and_path_are_404(client):
    assert error_of(client.post("/cds-services/no-such-service", json={}), 404)["field"] == "id"
    assert error_of(client.post("/cds-services/no-such-service/feedback", json={}), 404)["field"] == "id"
    assert error_of(client.get("/no/such/page"), 404)["field"] == "path"


def test_body_over_the_limit_is_413(client):
    big = b'{"age": 30, "pad": "' + b"x" * 1_100_000 + b'"}'
    error = error_of(client.post("/assess", content=big, headers={"Content-Type": "application/json"}), 413)
    assert "1,000,000" in error["expected"]


def test_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"pad": "'
        for _ in range(300):
            yield b"y" * 4096
        yield b'"}'

    error_of(client.post("/assess", content=chunks(), headers={"Content-Type": "application/json"}), 413)


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ({"age": 121}, "age", "an integer from 0 to 120"),
        ({"numbness": "yes"}, "numbness", "true or false"),
        ({"posture": "slouched"}, "posture", "one of good, poor"),
        ({"numbess": True}, "numbess", "a fact id listed by GET /schema/input"),
        ([1, 2], "body", "a value the fact vocabulary allows"),
    ],
)
def test_invalid_case_facts_are_422(client, body, field, expected):
    error = error_of(client.post("/assess", json=body), 422)
    assert error["field"] == field
    if field != "body":
        assert error["expected"] == expected


def test_invalid_questionnaire_response_is_422(client):
    bad_type = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "age", "answer": [{"valueBoolean": True}]}],
    }
    error = error_of(client.post("/assess", json=bad_type), 422)
    assert error["field"] == "body.item[0].answer[0]"
    assert "valueInteger" in error["message"]
    not_fhir = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"answer": []}]}
    assert error_of(client.post("/assess", json=not_fhir), 422)["field"].startswith("body.item[0]")
    other = {"resourceType": "Patient"}
    assert error_of(client.post("/assess", json=other), 422)["field"] == "body.resourceType"


def test_why_not_needs_a_catalogue_id(client):
    error = error_of(client.post("/why-not", json={"case": CASE, "recommendation": "nope"}), 422)
    assert error["field"] == "recommendation"
    assert error_of(client.post("/why-not", json={"recommendation": "acupuncture"}), 422)["field"] == "case"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("hookInstance"), "hookInstance"),
        (lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance"),
        (lambda b: b.update(hook="order-select"), "hook"),
        (lambda b: b["context"].pop("patientId"), "context.patientId"),
        (lambda b: b.update(context="Patient/1"), "context"),
        (lambda b: b.update(prefetch=[1]), "prefetch"),
        (lambda b: b.update(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}), "fhirServer"),
    ],
)
def test_invalid_hook_request_is_422(client, change, field):
    body = load("patient-view-null-prefetch.json")
    change(body)
    assert error_of(client.post(f"/cds-services/{PATIENT_VIEW}", json=body), 422)["field"] == field


@pytest.mark.parametrize(
    ("key", "resource", "field"),
    [
        ("patient", {"resourceType": "Patient", "birthDate": "14 March 1958"}, "prefetch.patient.birthDate"),
        ("patient", {"birthDate": "1958-03-14"}, "prefetch.patient.resourceType"),
        ("patient", {"resourceType": "NotAResource"}, "prefetch.patient.resourceType"),
        (
            "conditions",
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Condition"}}]},
            "prefetch.conditions.entry[0].resource.subject",
        ),
    ],
)
def test_invalid_fhir_resources_are_422(client, key, resource, field):
    body = load("patient-view-null-prefetch.json")
    body["prefetch"][key] = resource
    error = error_of(client.post(f"/cds-services/{PATIENT_VIEW}", json=body), 422)
    assert error["field"] == field


def test_server_keeps_serving_after_bad_requests(client):
    for _ in range(3):
        client.post("/assess", content=b"\x00\x01", headers={"Content-Type": "application/json"})
        client.post(f"/cds-services/{PATIENT_VIEW}", json={"hook": 5})
    assert client.post("/assess", json=CASE).status_code == 200
    assert json.loads(client.get("/healthz").text) == {"status": "ok"}


def test_every_response_says_its_timing_and_its_worker(client, server):
    hook = client.post(f"/cds-services/{PATIENT_VIEW}", json=load("patient-view-chart.json"))
    assert hook.status_code == 200
    timing = server_timing(hook.headers["server-timing"])
    assert set(timing) == {"app", "hook"}
    assert 0 < timing["hook"] <= timing["app"]  # the hook's own work is part of the application's time
    health = client.get("/healthz")
    assert set(server_timing(health.headers["server-timing"])) == {"app"}
    for response in (hook, health, client.get("/no-such-page")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers[WORKER_HEADER] == str(server.process.pid)  # one worker: the serve process
