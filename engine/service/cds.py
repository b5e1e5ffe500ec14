"""The two CDS Hooks 2.0 services: ``patient-view`` and ``order-select``.

A hook call is checked field by field (``hook``, ``hookInstance``, ``context``,
``fhirServer``, ``fhirAuthorization``, ``prefetch``), its FHIR data gathered
(from ``prefetch``, else fetched from ``fhirServer``; when the Patient cannot
be had, 412 as the specification says), turned into a case by the FHIR
mapping table plus the interview's QuestionnaireResponse, assessed, and
answered with cards (:mod:`spasm_advisor.io.cds_hooks`).

Missing data is never "no": a prefetch key that is absent and cannot be
fetched leaves its facts unknown, and the response lists it, together with
the red-flag facts that stayed unknown.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from spasm_advisor.errors import CaseError, brief
from spasm_advisor.inference.advisor import Advisor
from spasm_advisor.inference.assessment import Assessment
from spasm_advisor.io.cds_hooks import EXTENSION_KEY, Card, DraftOrder, assessment_cards, order_cards
from spasm_advisor.kb.conditions import Value
from spasm_advisor.service.fhir_mapping import (
    CHART_RESOURCE_TYPES,
    FhirMapping,
    FhirResourceError,
    parse_resource,
    read_chart,
    resource_codings,
    resources_in,
)
from spasm_advisor.service.problems import ApiError, problem
from spasm_advisor.service.questionnaire import QUESTIONNAIRE_ID, QUESTIONNAIRE_URL, answers_from_response

__all__ = ["HookResult", "ServiceDef", "cds_services", "check_request", "run_hook"]

PATIENT_VIEW = "spasm-advisor-patient-view"
ORDER_SELECT = "spasm-advisor-order-select"
_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_MAX_PAGES = 5
#: The resource types a hook call reads from its FHIR data: the chart's and the interview's.
_READ_TYPES = CHART_RESOURCE_TYPES | {"QuestionnaireResponse"}


@dataclass(frozen=True, slots=True)
class ServiceDef:
    """One CDS service as discovery describes it."""

    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str]
    usage: str

    def discovery(self) -> dict[str, Any]:
        """The discovery entry."""
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
            "usageRequirements": self.usage,
        }


def _prefetch_templates(mapping: FhirMapping) -> dict[str, str]:
    loinc = ",".join(f"{r.code.system}|{r.code.code}" for r in mapping.observations)
    patient = "{{context.patientId}}"
    return {
        "patient": f"Patient/{patient}",
        "conditions": f"Condition?patient={patient}",
        "medicationStatements": f"MedicationStatement?patient={patient}",
        "medicationRequests": f"MedicationRequest?patient={patient}&status=active",
        "allergies": f"AllergyIntolerance?patient={patient}",
        "observations": f"Observation?patient={patient}&code={loinc}&_sort=-date&_count=20",
        "interview": (
            f"QuestionnaireResponse?patient={patient}&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1"
        ),
    }


_USAGE = (
    "Needs the Patient (prefetch 'patient', or fhirServer with fhirAuthorization); without it the service "
    "answers 412. Every other prefetch key is optional: what is missing stays unknown, never 'no', and the "
    "response lists it. General information for clinicians, not a diagnosis."
)


def cds_services(mapping: FhirMapping) -> dict[str, ServiceDef]:
    """The services offered, by id."""
    templates = _prefetch_templates(mapping)
    return {
        PATIENT_VIEW: ServiceDef(
            id=PATIENT_VIEW,
            hook="patient-view",
            title="Spasm Advisor: back muscle spasm triage",
            description=(
                "Triage (self care, routine, urgent, emergency) and explained advice for back muscle spasm, "
                "from the chart and the Spasm Advisor interview; names the red-flag questions still unanswered."
            ),
            prefetch=templates,
            usage=_USAGE,
        ),
        ORDER_SELECT: ServiceDef(
            id=ORDER_SELECT,
            hook="order-select",
            title="Spasm Advisor: NSAID, salicylate and chiropractic order check",
            description=(
                "For a draft order of an NSAID, a salicylate or a chiropractic referral, a card when the rules "
                "withhold or caution it for this patient, with a suggestion to remove the draft order."
            ),
            prefetch=templates,
            usage=_USAGE,
        ),
    }


# --- request checking -------------------------------------------------------------


def _bad(field: str, message: str, expected: str) -> ApiError:
    return problem(422, "Invalid CDS Hooks request", field, message, expected)


def _string(body: Mapping[str, Any], key: str, where: str, expected: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"{where}{key}", "missing" if value is None else f"got {brief(value)}", expected)
    return value


def check_request(service: ServiceDef, body: object) -> dict[str, Any]:
    """Check a hook call's required fields (CDS Hooks 2.0, "Calling a CDS Service").

    Raises:
        ApiError: 422 naming the first field that is wrong.
    """
    if not isinstance(body, dict):
        raise _bad("body", f"got {brief(body)}", "a JSON object")
    hook = _string(body, "hook", "", f"the hook name '{service.hook}'")
    if hook != service.hook:
        raise _bad("hook", f"this service answers '{service.hook}', not {brief(hook)}", service.hook)
    instance = _string(body, "hookInstance", "", "a UUID")
    try:
        uuid.UUID(instance)
    except ValueError:
        raise _bad("hookInstance", f"not a UUID: {brief(instance)}", "a UUID") from None
    context = body.get("context")
    if not isinstance(context, dict):
        raise _bad("context", "missing" if context is None else f"got {brief(context)}", "a JSON object")
    _string(context, "userId", "context.", "the user, e.g. 'Practitioner/123'")
    _string(context, "patientId", "context.", "the FHIR id of the patient")
    if service.hook == "order-select":
        selections = context.get("selections")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise _bad(
                "context.selections", f"got {brief(selections)}", "a list of references such as 'MedicationRequest/1'"
            )
        if not isinstance(context.get("draftOrders"), dict):
            raise _bad(
                "context.draftOrders", f"got {brief(context.get('draftOrders'))}", "a FHIR Bundle of draft orders"
            )
    server = body.get("fhirServer")
    if server is not None and (not isinstance(server, str) or urlsplit(server).scheme not in ("http", "https")):
        raise _bad("fhirServer", f"got {brief(server)}", "the base URL of the FHIR server")
    auth = body.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, dict):
            raise _bad("fhirAuthorization", f"got {brief(auth)}", "a JSON object")
        if server is None:
            raise _bad("fhirServer", "missing (required with fhirAuthorization)", "the base URL of the FHIR server")
        _string(auth, "access_token", "fhirAuthorization.", "the OAuth 2.0 access token")
        if str(auth.get("token_type", "")).lower() != "bearer":
            raise _bad("fhirAuthorization.token_type", f"got {brief(auth.get('token_type'))}", "Bearer")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise _bad("prefetch", f"got {brief(prefetch)}", "a JSON object of prefetch keys")
    return body


# --- gathering FHIR data ---------------------------------------------------------------


@dataclass(slots=True)
class Gathered:
    """The FHIR data of one call, by prefetch key, and what could not be had."""

    resources: dict[str, Any] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fetchable(server: str) -> bool:
    parts = urlsplit(server)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fill(template: str, context: Mapping[str, Any]) -> str | None:
    missing = False

    def token(match: re.Match[str]) -> str:
        nonlocal missing
        path = match.group(1)
        value = context.get(path.removeprefix("context.")) if path.startswith("context.") else None
        if not isinstance(value, str):
            missing = True
            return ""
        return quote(value, safe="")

    filled = _TOKEN.sub(token, template)
    return None if missing else filled


async def _fetch(client: Any, server: str, query: str, token: str | None) -> Any:
    """GET a read or search from the FHIR server; a search follows up to a few ``next`` pages."""
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url: str | None = f"{server.rstrip('/')}/{query}"
    entries: list[Any] = []
    first: dict[str, Any] | None = None
    for _ in range(_MAX_PAGES):
        if url is None:
            break
        response = await client.get(url, headers=headers)
        if response.status_code == 404 and "?" not in query:
            return None
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            return data
        first = first or data
        entries.extend(data.get("entry") or [])
        url = next((link.get("url") for link in data.get("link") or [] if link.get("relation") == "next"), None)
    if first is None:
        return None
    return {**first, "entry": entries, "link": []}


async def gather(service: ServiceDef, body: Mapping[str, Any], *, fetcher: Any | None, timeout: float) -> Gathered:
    """Parse the prefetched resources and fetch the missing ones when the client allows it.

    Raises:
        ApiError: 412 when the Patient can be had neither way; 422 for a
            prefetched resource that is not valid FHIR.
    """
    out = Gathered()
    prefetch = body.get("prefetch") or {}
    context = body["context"]
    server = body.get("fhirServer")
    auth = body.get("fhirAuthorization") or None
    token = auth.get("access_token") if auth else None
    can_fetch = bool(server and auth and _fetchable(server))
    if server and auth and not can_fetch:
        out.notes.append("fhirServer is not https: nothing was fetched from it")
    for key, template in service.prefetch.items():
        if key in prefetch:
            raw = prefetch[key]
            if raw is None:  # the client had no data for this template
                out.resources[key] = None
                continue
            resource = parse_resource(raw, f"prefetch.{key}", kinds=_READ_TYPES)
        elif can_fetch and fetcher is not None:
            query = _fill(template, context)
            if query is None:
                out.unavailable.append(key)
                continue
            try:
                raw = await fetcher(server, query, token, timeout)
            except Exception as exc:  # any failure to fetch leaves the data unknown
                out.unavailable.append(key)
                out.notes.append(f"{key}: could not be fetched from fhirServer ({type(exc).__name__})")
                continue
            resource = None if raw is None else parse_resource(raw, f"fhirServer {key}", kinds=_READ_TYPES)
        else:
            out.unavailable.append(key)
            continue
        if resource is not None and resource.get_resource_type() == "OperationOutcome":
            out.unavailable.append(key)
            out.notes.append(f"{key}: the client reported an error (OperationOutcome) instead of data")
            continue
        out.resources[key] = resource
    if "patient" in out.unavailable:
        raise problem(
            412,
            "Precondition Failed",
            "prefetch.patient",
            "the Patient was neither prefetched nor could be fetched",
            "prefetch 'patient', or fhirServer with fhirAuthorization",
        )
    return out


async def httpx_fetcher(server: str, query: str, token: str | None, timeout: float) -> Any:
    """Fetch with httpx (the default fetcher)."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        return await _fetch(client, server, query, token)


# --- case and cards -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookResult:
    """What a hook call produced."""

    response: dict[str, Any]
    cards: list[Card]
    assessment: Assessment


def _latest_interview(resources: list[Any]) -> Any | None:
    responses = [
        r
        for r in resources
        if r.get_resource_type() == "QuestionnaireResponse"
        and (
            r.questionnaire in (None, QUESTIONNAIRE_URL)
            or str(r.questionnaire).endswith(f"Questionnaire/{QUESTIONNAIRE_ID}")
        )
        and r.status in ("completed", "amended", "in-progress")
    ]
    if not responses:
        return None
    return max(responses, key=lambda r: str(r.authored or ""))


def build_case(
    advisor: Advisor, mapping: FhirMapping, gathered: Gathered, today: datetime.date
) -> tuple[dict[str, Value], dict[str, Any]]:
    """The case for a call, and what the response says about where each fact came from.

    Raises:
        ApiError: 422 for an interview answer that does not fit its question.
    """
    kb = advisor.knowledge_base
    resources = [r for value in gathered.resources.values() for r in resources_in(value)]
    chart = read_chart(mapping, kb, resources, today=today)
    facts: dict[str, Value] = dict(chart.facts)
    notes = list(gathered.notes) + chart.notes
    interview = _latest_interview(resources)
    answered: dict[str, Value] = {}
    if interview is not None:
        try:
            answered = answers_from_response(interview, kb, "prefetch.interview")
        except FhirResourceError as exc:
            raise problem(422, "Invalid QuestionnaireResponse", exc.field, str(exc), exc.expected) from None
    for name, value in answered.items():
        old = facts.get(name)
        if old is True and value is False:
            notes.append(f"{name}: the interview says no, the record says yes; yes is kept")
            continue
        if old is not None and old != value:
            notes.append(f"{name}: the interview says {value}, the record {old}; the interview is used")
        facts[name] = value
    try:
        case = advisor.case(facts)
    except CaseError as exc:
        raise ApiError(
            422,
            "Invalid case",
            [
                {"field": p.field, "message": p.message, "expected": "a value the fact vocabulary allows"}
                for p in exc.problems
            ],
        ) from None
    about = {
        "evidence": [e.to_dict() for e in chart.evidence]
        + [
            {"fact": k, "value": v, "resource": "QuestionnaireResponse", "detail": "interview answer"}
            for k, v in answered.items()
        ],
        "notes": notes,
        "unavailable": list(gathered.unavailable),
    }
    return case.to_dict(), about


def _orders(mapping: FhirMapping, body: Mapping[str, Any]) -> list[DraftOrder]:
    context = body["context"]
    kinds = {rule.resource for rule in mapping.orders} | {"Medication"}
    bundle = parse_resource(context["draftOrders"], "context.draftOrders", kinds=kinds)
    if bundle.get_resource_type() != "Bundle":
        raise _bad("context.draftOrders.resourceType", f"got {brief(bundle.get_resource_type())}", "Bundle")
    by_reference = {f"{r.get_resource_type()}/{r.id}": r for r in resources_in(bundle) if r.id}
    orders = []
    for i, reference in enumerate(context["selections"]):
        resource = by_reference.get(reference)
        if resource is None:
            raise _bad(
                f"context.selections[{i}]",
                f"{brief(reference)} is not in draftOrders",
                "a reference to an entry of draftOrders",
            )
        kind = resource.get_resource_type()
        codings = resource_codings(resource, by_reference)
        for rule in mapping.orders:
            if rule.resource != kind or rule.match(codings) is None:
                continue
            concept = resource.medicationCodeableConcept if kind == "MedicationRequest" else resource.code
            name = None
            if concept is not None:
                name = concept.text or next((c.display for c in concept.coding or () if c.display), None)
            orders.append(DraftOrder(reference, name or reference, rule.label, rule.recommendations))
            break
    return orders


def run_hook(
    advisor: Advisor,
    mapping: FhirMapping,
    service: ServiceDef,
    body: Mapping[str, Any],
    gathered: Gathered,
    *,
    today: datetime.date,
    explain_url: Any,
) -> HookResult:
    """Assess the call's case and build the response."""
    kb = advisor.knowledge_base
    facts, about = build_case(advisor, mapping, gathered, today)
    assessment = advisor.assess(facts)
    url = explain_url(facts)
    if service.hook == "order-select":
        cards = order_cards(assessment, kb, _orders(mapping, body), explain_url=url)
    else:
        cards = assessment_cards(assessment, kb, explain_url=url)
    response = {
        "cards": [c.to_dict() for c in cards],
        "extension": {
            EXTENSION_KEY: {
                "triage": assessment.triage,
                "unknownRedFlags": list(assessment.unanswered_red_flags),
                "facts": facts,
                **about,
                "knowledgeBase": {"version": assessment.kb_version, "digest": assessment.kb_digest},
                "fhirMapping": mapping.digest,
            }
        },
    }
    return HookResult(response, cards, assessment)
