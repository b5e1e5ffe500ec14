"""CDS Hooks 2.0 over HTTP against the real server: discovery, both hooks, prefetch, 412, feedback, JWT."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid

import jsonschema
import jwt
import pytest
from cli_runner import run
from cryptography.hazmat.primitives.asymmetric import ec
from service_support import DATA, ORDER_SELECT, PATIENT_VIEW, load, running_server

from spasm_advisor import Advisor
from spasm_advisor.io.cds_hooks import OVERRIDE_REASONS, OVERRIDE_SYSTEM

SCHEMA = json.loads((DATA / "cds-hooks-2.0.schema.json").read_text())


def validate(instance: object, definition: str) -> None:
    schema = {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


def call(client, service: str, body: dict) -> dict:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    validate(data, "response")
    return data


def ext(response: dict) -> dict:
    return response["extension"]["spasm-advisor"]


def cards_by_kind(response: dict, kind: str) -> list[dict]:
    return [c for c in response["cards"] if c["extension"]["spasm-advisor"]["kind"] == kind]


# --- discovery ----------------------------------------------------------------------


def test_discovery_lists_both_services_per_the_spec(client):
    data = client.get("/cds-services").json()
    validate(data, "discovery")
    services = {s["id"]: s for s in data["services"]}
    assert services[PATIENT_VIEW]["hook"] == "patient-view"
    assert services[ORDER_SELECT]["hook"] == "order-select"
    for service in services.values():
        assert service["title"]
        assert service["description"]
        assert service["usageRequirements"]
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        # every template uses only the context fields the hooks define as prefetch tokens
        for template in service["prefetch"].values():
            for token in template.split("{{")[1:]:
                assert token.split("}}")[0] in ("context.patientId", "context.userId", "context.encounterId")


# --- patient-view -------------------------------------------------------------------


def test_patient_view_reads_the_chart_by_the_mapping_table(client):
    data = call(client, PATIENT_VIEW, load("patient-view-chart.json"))
    facts = ext(data)["facts"]
    assert facts["age"] == 68  # born 1958-03-14, today 2026-12-01
    assert facts["osteoporosis"] is True  # active SNOMED 64859006
    assert facts["history_of_cancer"] is True  # in remission: a history counts whatever the status
    assert "asthma" not in facts  # resolved: not counted, so unknown (never "no")
    assert facts["nsaid_allergy"] is True  # AllergyIntolerance to RxNorm 5640
    assert facts["pain_severity"] == 7  # the newest score in the last 7 days, not the old 2
    # on_anticoagulants: the interview said no, the record (warfarin) says yes; yes is kept
    assert facts["on_anticoagulants"] is True
    assert any("on_anticoagulants" in n and "yes is kept" in n for n in ext(data)["notes"])
    # prednisolone since 11 days: shorter than the 90-day convention, so unknown
    assert "long_term_steroids" not in facts
    assert any(n.startswith("long_term_steroids:") for n in ext(data)["notes"])
    # interview answers, including explicit "no"
    assert facts["duration_days"] == 4
    assert facts["saddle_anaesthesia"] is False
    assert facts["posture"] == "poor"
    evidence = {e["fact"]: e for e in ext(data)["evidence"]}
    assert evidence["osteoporosis"]["resource"] == "Condition/c-osteo"
    assert "64859006" in evidence["osteoporosis"]["detail"]
    # the assessment is the engine's for exactly these facts
    expected = Advisor.default().assess(facts)
    assert ext(data)["triage"] == expected.triage
    assert ext(data)["unknownRedFlags"] == list(expected.unanswered_red_flags)
    assert "long_term_steroids" in ext(data)["unknownRedFlags"]


def test_patient_view_cards_field_by_field(client):
    data = call(client, PATIENT_VIEW, load("patient-view-chart.json"))
    facts = ext(data)["facts"]
    advisor = Advisor.default()
    assessment = advisor.assess(facts)
    kb = advisor.knowledge_base
    recs = cards_by_kind(data, "recommendation")
    assert [c["extension"]["spasm-advisor"]["item"] for c in recs] == list(assessment.recommendation_ids())
    for card, rec in zip(recs, assessment.recommendations, strict=True):
        assert card["summary"] == rec.title or card["summary"].endswith("...")
        assert rec.id in card["links"][0]["url"] or "#case=" in card["links"][0]["url"]
        assert f"rule `{rec.explanation[0].rule}`" in card["detail"]
        assert card["indicator"] == ("warning" if rec.warnings else "info") or rec.category == "referral"
        primary = kb.sources[next(e["source"] for e in rec.evidence) if rec.evidence else rec.sources[0]]
        assert card["source"].get("url") == primary.url
        assert len(card["summary"]) < 140
    withheld = cards_by_kind(data, "withheld")
    assert {c["extension"]["spasm-advisor"]["item"] for c in withheld} == set(assessment.withheld_ids())
    nsaid = next(c for c in withheld if c["extension"]["spasm-advisor"]["item"] == "nsaid_pain_relief")
    assert nsaid["indicator"] == "warning"
    assert {w.rule for w in assessment.withheld if w.id == "nsaid_pain_relief"} <= set(
        nsaid["extension"]["spasm-advisor"]["rules"]
    )
    for card in data["cards"]:
        if card["indicator"] == "warning":
            assert card["overrideReasons"] == [
                {"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS
            ]
        else:
            assert "overrideReasons" not in card
    unanswered = cards_by_kind(data, "unanswered")
    assert len(unanswered) == 1
    for flag in assessment.unanswered_red_flags:
        assert f"`{flag}`" in unanswered[0]["detail"]


def test_explanation_link_opens_the_same_case(client):
    data = call(client, PATIENT_VIEW, load("patient-view-chart.json"))
    url = data["cards"][0]["links"][0]["url"]
    assert url.startswith(str(client.base_url))
    fragment = url.split("#", 1)[1]
    params = dict(p.split("=", 1) for p in fragment.split("&"))
    encoded = params["case"] + "=" * (-len(params["case"]) % 4)
    assert json.loads(base64.urlsafe_b64decode(encoded)) == ext(data)["facts"]


def test_card_uuids_are_fresh_on_every_call(client):
    body = load("patient-view-chart.json")
    first = [c["uuid"] for c in call(client, PATIENT_VIEW, body)["cards"]]
    second = [c["uuid"] for c in call(client, PATIENT_VIEW, body)["cards"]]
    assert len(set(first)) == len(first)
    assert not set(first) & set(second)
    for value in first:
        assert uuid.UUID(value).version == 4


def test_emergency_card_is_critical(client):
    data = call(client, PATIENT_VIEW, load("patient-view-saddle-numbness.json"))
    assert ext(data)["facts"]["saddle_anaesthesia"] is True  # SNOMED 449813001 on the problem list
    assert ext(data)["triage"] == "emergency"
    first = data["cards"][0]
    assert first["extension"]["spasm-advisor"]["item"] == "emergency_care"
    assert first["indicator"] == "critical"
    assert not cards_by_kind(data, "unanswered")  # nothing left to ask changes an emergency


def test_null_prefetch_leaves_facts_unknown_not_no(client):
    data = call(client, PATIENT_VIEW, load("patient-view-null-prefetch.json"))
    facts = ext(data)["facts"]
    assert facts == {"age": 68}
    assert ext(data)["unavailable"] == []  # null means "no data", which the client did report
    kb = Advisor.default().knowledge_base
    assert ext(data)["unknownRedFlags"] == list(kb.red_flags())
    assert cards_by_kind(data, "unanswered")


def test_absent_prefetch_without_fhir_server_is_412(client):
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=load("patient-view-no-prefetch.json"))
    assert response.status_code == 412
    error = response.json()["errors"][0]
    assert error["field"] == "prefetch.patient"
    assert "fhirServer" in error["expected"]


def test_absent_prefetch_is_fetched_from_fhir_server_with_the_token(client, fhir_stub):
    body = load("patient-view-fetch.json")
    body["fhirServer"] = fhir_stub.url
    data = call(client, PATIENT_VIEW, body)
    facts = ext(data)["facts"]
    assert facts["age"] == 68
    assert facts["osteoporosis"] is True
    assert facts["on_anticoagulants"] is True
    paths = [p for p, _ in fhir_stub.requests]
    assert "/fhir/Patient/pat-1" in paths
    assert any(p.startswith("/fhir/Condition?patient=pat-1") for p in paths)
    assert {auth for _, auth in fhir_stub.requests} == {"Bearer opaque-token-123"}


def test_fhir_server_refusing_the_patient_is_412(client, fhir_stub):
    body = load("patient-view-fetch.json")
    body["fhirServer"] = fhir_stub.url
    body["fhirAuthorization"]["access_token"] = "wrong-token"
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 412
    assert response.json()["errors"][0]["field"] == "prefetch.patient"


# --- order-select ---------------------------------------------------------------------


def test_order_select_withholds_with_a_remove_suggestion(client):
    data = call(client, ORDER_SELECT, load("order-select-withheld.json"))
    cards = data["cards"]
    assert [c["extension"]["spasm-advisor"]["kind"] for c in cards] == ["order-withheld", "order-withheld"]
    nsaid, chiro = cards
    assert nsaid["extension"]["spasm-advisor"]["item"] == "nsaid_pain_relief"
    assert "nsaid_withhold_anticoagulants" in nsaid["extension"]["spasm-advisor"]["rules"]
    assert "nsaid_withhold_allergy" not in nsaid["extension"]["spasm-advisor"]["rules"]  # no allergy prefetched
    assert nsaid["summary"].startswith("ibuprofen 400 mg tablets: not advised")
    assert nsaid["selectionBehavior"] == "at-most-one"
    (suggestion,) = nsaid["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order for ibuprofen 400 mg tablets",
            "resourceId": "MedicationRequest/mr-ibu",
        }
    ]
    assert chiro["extension"]["spasm-advisor"]["item"] == "chiropractic_care"
    assert chiro["suggestions"][0]["actions"][0]["resourceId"] == "ServiceRequest/sr-chiro"
    assert "manipulation_withhold_osteoporosis" in chiro["extension"]["spasm-advisor"]["rules"]
    for card in cards:
        assert card["indicator"] == "warning"
        assert card["overrideReasons"]


def test_order_select_unknown_contraindications_are_not_cleared(client):
    data = call(client, ORDER_SELECT, load("order-select-unchecked.json"))
    (card,) = data["cards"]  # the unmapped paracetamol order gets no card
    assert card["extension"]["spasm-advisor"]["kind"] == "order-unchecked"
    assert card["indicator"] == "warning"
    assert "suggestions" not in card
    for fact in ("on_anticoagulants", "gi_bleed_or_ulcer_history", "kidney_disease", "pregnant", "asthma"):
        assert f"`{fact}`" in card["detail"]


def test_order_select_selection_not_in_draft_orders_is_422(client):
    body = load("order-select-withheld.json")
    body["context"]["selections"] = ["MedicationRequest/missing"]
    response = client.post(f"/cds-services/{ORDER_SELECT}", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "context.selections[0]"


# --- feedback ---------------------------------------------------------------------------


def test_feedback_round_trip_and_report(server, client):
    data = call(client, ORDER_SELECT, load("order-select-withheld.json"))
    nsaid, chiro = data["cards"]
    reason = nsaid["overrideReasons"][2]
    feedback = {
        "feedback": [
            {
                "card": nsaid["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": reason, "userComment": "INR stable, short course agreed"},
                "outcomeTimestamp": "2026-12-01T10:05:31Z",
            },
            {
                "card": chiro["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": chiro["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-12-01T10:06:00Z",
            },
            {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:07:00Z"},
        ]
    }
    response = client.post(f"/cds-services/{ORDER_SELECT}/feedback", json=feedback)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 3
    assert response.json()["unknownCards"] == [feedback["feedback"][2]["card"]]
    with sqlite3.connect(server.feedback_db) as db:
        rows = db.execute(
            "SELECT card, outcome, override_code, user_comment, rules, kb_digest FROM feedback WHERE card = ?",
            (nsaid["uuid"],),
        ).fetchall()
        assert rows == [
            (
                nsaid["uuid"],
                "overridden",
                reason["code"],
                "INR stable, short course agreed",
                json.dumps(nsaid["extension"]["spasm-advisor"]["rules"]),
                Advisor.default().knowledge_base.digest,
            )
        ]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM feedback")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE cards SET kind = 'x'")
    out = run("feedback", "report", "--db", str(server.feedback_db), "--json")
    assert out.returncode == 0, out.stderr
    report = {r["rule"]: r for r in json.loads(out.stdout)["rules"]}
    rule = report["nsaid_withhold_anticoagulants"]
    assert rule["overridden"] >= 1
    assert {"reason": reason["display"], "count": rule["override_reasons"][0]["count"]} in rule["override_reasons"]
    assert report["manipulation_withhold_osteoporosis"]["accepted"] >= 1
    text = run("feedback", "report", "--db", str(server.feedback_db))
    assert text.returncode == 0
    assert "nsaid_withhold_anticoagulants" in text.stdout
    assert reason["display"] in text.stdout


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}, "feedback[0].card"),
        ({"card": "x", "outcome": "maybe", "outcomeTimestamp": "2026-12-01T10:00:00Z"}, "feedback[0].outcome"),
        ({"card": "x", "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "feedback[0].outcomeTimestamp"),
        (
            {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
            "feedback[0].acceptedSuggestions",
        ),
    ],
)
def test_bad_feedback_names_the_field(client, entry, field):
    response = client.post(f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": [entry]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


# --- JWT ------------------------------------------------------------------------------------


def test_jwt_checking_when_configured(tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(
        json.dumps({"keys": [{**public, "kid": "ehr-1", "use": "sig", "alg": "ES384"}]})
    )
    audience = "https://cds.example.org"
    args = (
        "--jwt-jwks",
        str(tmp_path / "jwks.json"),
        "--jwt-issuer",
        "https://ehr.example.org/",
        "--jwt-audience",
        audience,
    )
    with running_server(tmp_path, *args) as server, server.client() as client:

        def token(path: str, **claims: object) -> str:
            now = int(time.time())
            payload = {
                "iss": "https://ehr.example.org/",
                "aud": audience + path,
                "iat": now,
                "exp": now + 300,
                "jti": str(uuid.uuid4()),
            }
            payload.update(claims)
            return jwt.encode(payload, key, algorithm="ES384", headers={"kid": "ehr-1", "typ": "JWT"})

        assert client.get("/cds-services").status_code == 401
        good = token("/cds-services")
        assert client.get("/cds-services", headers={"Authorization": f"Bearer {good}"}).status_code == 200
        replay = client.get("/cds-services", headers={"Authorization": f"Bearer {good}"})
        assert replay.status_code == 401
        assert "replay" in replay.json()["errors"][0]["message"]
        wrong_aud = token("/cds-services/other")
        assert client.get("/cds-services", headers={"Authorization": f"Bearer {wrong_aud}"}).status_code == 401
        wrong_iss = token("/cds-services", iss="https://evil.example.org/")
        assert client.get("/cds-services", headers={"Authorization": f"Bearer {wrong_iss}"}).status_code == 401
        hmac = jwt.encode(
            {"iss": "x"}, "a-shared-secret-that-is-long-enough!!", algorithm="HS256", headers={"kid": "ehr-1"}
        )
        refused = client.get("/cds-services", headers={"Authorization": f"Bearer {hmac}"})
        assert refused.status_code == 401
        assert "HS256" in refused.json()["errors"][0]["message"]
        path = f"/cds-services/{PATIENT_VIEW}"
        hook = client.post(
            path, json=load("patient-view-null-prefetch.json"), headers={"Authorization": f"Bearer {token(path)}"}
        )
        assert hook.status_code == 200
        # the JSON API and the workbench are not CDS endpoints: no token needed
        assert client.get("/healthz").status_code == 200
