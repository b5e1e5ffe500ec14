"""The ASGI application: CDS Hooks 2.0 services, the JSON API and the case workbench.

``create_app(config)`` builds it (FastAPI on Starlette). Routes:

* CDS Hooks: ``GET /cds-services`` (discovery), ``POST /cds-services/{id}``
  (``spasm-advisor-patient-view``, ``spasm-advisor-order-select``),
  ``POST /cds-services/{id}/feedback``.
* JSON API: ``POST /assess`` (a case, or a QuestionnaireResponse of the
  interview; answers the output contract), ``POST /explain``,
  ``POST /why-not``, ``GET /schema/input``, ``GET /schema/output``,
  ``GET /catalogue``, ``GET /healthz``, ``GET /version``,
  ``GET /fhir/Questionnaire/spasm-interview``; OpenAPI at ``/openapi.json``,
  readable at ``/docs``.
* The workbench at ``/`` (plain HTML, JavaScript and CSS served from the
  package; no build step, nothing loaded from elsewhere) and the audit
  report at ``/audit-report``.

Every request body is read up to a size limit (413 beyond), must be JSON
(415 for another content type, 400 when it does not parse) and is checked
field by field (422). Errors have one JSON shape
(:mod:`spasm_advisor.service.problems`); no stack trace reaches a client.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException

from spasm_advisor import __version__
from spasm_advisor.errors import CaseError, brief
from spasm_advisor.inference.advisor import Advisor
from spasm_advisor.io.reader import parse_case_text
from spasm_advisor.io.schema import input_schema, output_schema
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.service.auth import JwtChecker
from spasm_advisor.service.cds import (
    ServiceDef,
    cds_services,
    check_request,
    gather,
    httpx_fetcher,
    run_hook,
)
from spasm_advisor.service.config import ServiceConfig
from spasm_advisor.service.feedback import FeedbackEntry, FeedbackStore
from spasm_advisor.service.fhir_mapping import FhirResourceError, load_fhir_mapping, parse_resource
from spasm_advisor.service.middleware import ServiceHeaders
from spasm_advisor.service.problems import ApiError, problem
from spasm_advisor.service.questionnaire import QUESTIONNAIRE_ID, answers_from_response, build_questionnaire

__all__ = ["create_app"]

_LOG = logging.getLogger("spasm_advisor.service")
STATIC = Path(__file__).parent / "static"
_JSON_TYPES = ("application/json", "application/fhir+json")
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


class _State:
    """What the routes share: the advisor, the mapping, the stores and cached documents."""

    def __init__(self, config: ServiceConfig) -> None:
        if bool(config.rules) != bool(config.knowledge):
            raise ValueError("--rules and --knowledge go together: give both folders")
        if config.rules and config.knowledge:
            self.advisor = Advisor.from_paths(Path(config.rules), Path(config.knowledge))
            knowledge: Any = Path(config.knowledge)
            self.mapping = load_fhir_mapping(knowledge, self.advisor.knowledge_base)
        else:
            self.advisor = Advisor.default()
            knowledge = bundled_knowledge_dir()
            self.mapping = load_fhir_mapping(knowledge, self.advisor.knowledge_base, label="knowledge")
        self.knowledge_dir = knowledge
        self.config = config
        self.services: dict[str, ServiceDef] = cds_services(self.mapping)
        self.feedback = FeedbackStore(config.feedback_db)
        self.jwt = (
            JwtChecker(config.jwt_jwks, config.jwt_issuers, config.jwt_audience or "") if config.jwt_jwks else None
        )
        kb = self.advisor.knowledge_base
        self.input_schema = input_schema(kb)
        self.output_schema = output_schema(kb)
        self.questionnaire = build_questionnaire(self.advisor)
        self.fetcher: Callable[..., Awaitable[Any]] = httpx_fetcher
        self.audit_html: str | None = None
        self.pages = {name: (STATIC / name).read_text(encoding="utf-8") for name in ("index.html", "docs.html")}
        # Documents that never change while the service runs, encoded once.
        self.encoded: dict[str, bytes] = {
            "discovery": _encode({"services": [s.discovery() for s in self.services.values()]}),
            "questionnaire": _encode(self.questionnaire),
            "schema_input": _encode(self.input_schema),
            "schema_output": _encode(self.output_schema),
            "catalogue": _encode(
                [{"id": r.id, "category": r.category, "title": r.title} for r in kb.recommendations.values()]
            ),
            "version": _encode(
                {
                    "package": __version__,
                    "knowledgeBase": {"version": kb.version, "digest": kb.digest},
                    "fhirMapping": self.mapping.digest,
                    "cdsHooks": "2.0",
                    "fhir": "4.0.1",
                }
            ),
        }


# --- request helpers -----------------------------------------------------------------


async def _read_json(request: Request, limit: int) -> object:
    """The request body as JSON, enforcing the content type and the size limit."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in _JSON_TYPES:
        raise problem(
            415,
            "Unsupported Media Type",
            "Content-Type",
            f"got {brief(kind or 'none')}",
            "application/json (or application/fhir+json)",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise problem(413, "Payload Too Large", "body", f"{int(declared):,} bytes", f"at most {limit:,} bytes")
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problem(413, "Payload Too Large", "body", f"more than {limit:,} bytes", f"at most {limit:,} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data.lstrip().startswith((b"{", b"[")):
        raise problem(400, "Malformed JSON", "body", "not a JSON document", "a JSON object")
    try:
        return parse_case_text(data, "body", mapping=False)  # a body that is not an object is a 422, below
    except CaseError as exc:
        raise problem(400, "Malformed JSON", "body", str(exc), "a JSON object") from None


def _case_problems(advisor: Advisor, exc: CaseError) -> ApiError:
    kb = advisor.knowledge_base
    errors = []
    for p in exc.problems:
        spec = kb.facts.get(p.field)
        expected = spec.domain_text() if spec is not None else "a fact id listed by GET /schema/input"
        errors.append({"field": p.field or "body", "message": p.message, "expected": expected})
    return ApiError(422, "Invalid case", errors)


def _case_from(state: _State, data: object, where: str = "body") -> dict[str, Any]:
    """A case from a JSON body: a mapping of facts, or the interview's QuestionnaireResponse."""
    advisor = state.advisor
    if isinstance(data, dict) and "resourceType" in data:
        if data["resourceType"] != "QuestionnaireResponse":
            raise problem(
                422,
                "Invalid case",
                f"{where}.resourceType",
                f"got {brief(data['resourceType'])}",
                "a case (fact names to values) or a QuestionnaireResponse",
            )
        try:
            response = parse_resource(data, where)
            facts: object = answers_from_response(response, advisor.knowledge_base, where)
        except FhirResourceError as exc:
            raise problem(422, "Invalid QuestionnaireResponse", exc.field, str(exc), exc.expected) from None
    else:
        facts = data
    try:
        return advisor.case(facts).to_dict()
    except CaseError as exc:
        raise _case_problems(advisor, exc) from None


def _base_url(state: _State, request: Request) -> str:
    return (state.config.public_url or str(request.base_url)).rstrip("/")


def _explain_url(base: str) -> Callable[[dict[str, Any]], Callable[[str | None], str]]:
    """Links to the workbench with the case in the fragment (never sent to any server)."""

    def for_case(case: dict[str, Any]) -> Callable[[str | None], str]:
        encoded = base64.urlsafe_b64encode(json.dumps(case, separators=(",", ":")).encode()).decode().rstrip("=")

        def url(item: str | None) -> str:
            return f"{base}/#case={encoded}" + (f"&explain={item}" if item else "")

        return url

    return for_case


def _encode(data: object) -> bytes:
    """Plain data as compact UTF-8 JSON (pydantic-core's encoder: the same text as ``json.dumps``, faster)."""
    return to_json(data)


def _json(data: object, headers: dict[str, str] | None = None) -> Response:
    """Plain data as a JSON response (already JSON-ready: no framework re-encoding)."""
    return Response(_encode(data), media_type="application/json", headers=headers)


def _feedback_entries(body: object) -> list[FeedbackEntry]:
    def bad(field: str, message: str, expected: str) -> ApiError:
        return problem(422, "Invalid feedback", field, message, expected)

    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise bad("feedback", "missing or empty", "a non-empty array of Feedback objects")
    entries = []
    for i, item in enumerate(body["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise bad(where, f"got {brief(item)}", "a Feedback object")
        card = item.get("card")
        if not isinstance(card, str) or not card:
            raise bad(f"{where}.card", f"got {brief(card)}", "the uuid of a card")
        outcome = item.get("outcome")
        if outcome not in ("accepted", "overridden"):
            raise bad(f"{where}.outcome", f"got {brief(outcome)}", "accepted or overridden")
        stamp = item.get("outcomeTimestamp")
        try:
            datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"{where}.outcomeTimestamp", f"got {brief(stamp)}", "an ISO 8601 UTC time") from None
        accepted = item.get("acceptedSuggestions", [])
        if outcome == "accepted" and (not isinstance(accepted, list) or not accepted):
            raise bad(f"{where}.acceptedSuggestions", "missing", 'the accepted suggestions ([{"id": uuid}])')
        ids = []
        for j, suggestion in enumerate(accepted if isinstance(accepted, list) else []):
            if not isinstance(suggestion, dict) or not isinstance(suggestion.get("id"), str):
                raise bad(f"{where}.acceptedSuggestions[{j}].id", f"got {brief(suggestion)}", "a suggestion uuid")
            ids.append(suggestion["id"])
        reason = item.get("overrideReason")
        coding: dict[str, Any] = {}
        comment = None
        if reason is not None:
            if not isinstance(reason, dict):
                raise bad(f"{where}.overrideReason", f"got {brief(reason)}", "an OverrideReason object")
            coding = reason.get("reason") or {}
            if not isinstance(coding, dict) or (coding and not isinstance(coding.get("code"), str)):
                raise bad(f"{where}.overrideReason.reason", f"got {brief(coding)}", "a Coding with code and system")
            comment = reason.get("userComment")
            if comment is not None and not isinstance(comment, str):
                raise bad(f"{where}.overrideReason.userComment", f"got {brief(comment)}", "text")
        entries.append(
            FeedbackEntry(
                card=card,
                outcome=str(outcome),
                outcome_timestamp=str(stamp),
                accepted_suggestions=tuple(ids),
                override_system=coding.get("system"),
                override_code=coding.get("code"),
                override_display=coding.get("display"),
                user_comment=comment,
            )
        )
    return entries


# --- the application --------------------------------------------------------------------


def _body_doc(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}},
        }
    }


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """Build the application (loads the knowledge base and the FHIR mapping; fails closed).

    Raises:
        KnowledgeBaseError: the knowledge base or ``fhir-mapping.yaml`` is missing or wrong.
        ValueError: the JWT settings are incomplete or the JWKS file unreadable.
    """
    state = _State(config or ServiceConfig())
    kb = state.advisor.knowledge_base
    app = FastAPI(
        title="Spasm Advisor",
        version=__version__,
        description=(
            "CDS Hooks 2.0 services, a JSON API and a case workbench for back muscle spasm triage. "
            "General information for clinicians, not a diagnosis."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.spasm = state
    if state.config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(state.config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error = problem(
                404, "Not Found", "path", f"no resource at {brief(request.url.path)}", "a path listed in /docs"
            )
        elif exc.status_code == 405:
            error = problem(
                405,
                "Method Not Allowed",
                "method",
                f"{request.method} is not allowed here",
                "GET or POST as listed in /docs",
            )
        else:
            error = problem(exc.status_code, "HTTP error", "request", str(exc.detail), "a request listed in /docs")
        return JSONResponse(error.body(), status_code=error.status, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        _LOG.exception("internal error on %s %s", request.method, request.url.path)
        error = problem(500, "Internal Server Error", "request", "the server failed; the log has the details", "")
        return JSONResponse(error.body(), status_code=500)

    app.add_middleware(ServiceHeaders, jwt=state.jwt, csp=_CSP)

    limit = state.config.max_body

    # --- CDS Hooks ---------------------------------------------------------------

    def _encoded(name: str, media_type: str = "application/json") -> Response:
        return Response(state.encoded[name], media_type=media_type)

    @app.get("/cds-services", tags=["CDS Hooks"], summary="CDS Hooks discovery")
    async def discovery() -> Response:
        return _encoded("discovery")

    def _service(service_id: str) -> ServiceDef:
        service = state.services.get(service_id)
        if service is None:
            raise problem(404, "Not Found", "id", f"no CDS service {brief(service_id)}", ", ".join(state.services))
        return service

    @app.post(
        "/cds-services/{service_id}",
        tags=["CDS Hooks"],
        summary="Call a CDS service (patient-view or order-select)",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        },
    )
    async def call_service(service_id: str, request: Request) -> Response:
        service = _service(service_id)
        data = await _read_json(request, limit)
        started = time.perf_counter()
        body = check_request(service, data)
        try:
            gathered = await gather(service, body, fetcher=state.fetcher, timeout=state.config.fhir_timeout)
        except FhirResourceError as exc:
            raise problem(422, "Invalid FHIR resource", exc.field, str(exc), exc.expected) from None
        try:
            result = run_hook(
                state.advisor,
                state.mapping,
                service,
                body,
                gathered,
                today=state.config.today(),
                explain_url=_explain_url(_base_url(state, request)),
            )
        except FhirResourceError as exc:
            raise problem(422, "Invalid FHIR resource", exc.field, str(exc), exc.expected) from None
        state.feedback.record_cards(service.id, body["hookInstance"], result.cards, kb.digest)
        encoded = _encode(result.response)
        # The hook's own work, from its body read to its response encoded (what a queue of calls waits for).
        timing = f"hook;dur={(time.perf_counter() - started) * 1000:.3f}"
        return Response(encoded, media_type="application/json", headers={"Server-Timing": timing})

    @app.post(
        "/cds-services/{service_id}/feedback",
        tags=["CDS Hooks"],
        summary="Feedback on cards (accepted or overridden)",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        },
    )
    async def feedback(service_id: str, request: Request) -> dict[str, Any]:
        service = _service(service_id)
        entries = _feedback_entries(await _read_json(request, limit))
        known = state.feedback.record_feedback(service.id, entries)
        return {"stored": len(entries), "unknownCards": [e.card for e, k in zip(entries, known, strict=True) if not k]}

    # --- JSON API ----------------------------------------------------------------

    @app.post(
        "/assess",
        tags=["JSON API"],
        summary="Assess a case (or the interview's QuestionnaireResponse); the output contract",
        openapi_extra=_body_doc(
            "#/components/schemas/Case", "A case: fact names to values; or a QuestionnaireResponse"
        ),
    )
    async def assess(request: Request) -> Response:
        case = _case_from(state, await _read_json(request, limit))
        return _json(state.advisor.assess(case).to_dict())

    @app.post(
        "/explain",
        tags=["JSON API"],
        summary="The derivation trees of a case's triage, recommendations and withheld items",
        openapi_extra=_body_doc("#/components/schemas/Case", "A case, or a QuestionnaireResponse"),
    )
    async def explain(request: Request) -> Response:
        case = _case_from(state, await _read_json(request, limit))
        return _json(state.advisor.assess(case).explain())

    @app.post(
        "/why-not",
        tags=["JSON API"],
        summary="Why a case did (not) get a recommendation",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["case", "recommendation"],
                            "properties": {
                                "case": {"$ref": "#/components/schemas/Case"},
                                "recommendation": {"type": "string", "enum": list(kb.recommendations)},
                            },
                        }
                    }
                },
            }
        },
    )
    async def why_not(request: Request) -> Response:
        body = await _read_json(request, limit)
        if not isinstance(body, dict):
            raise problem(422, "Invalid request", "body", f"got {brief(body)}", '{"case": {...}, "recommendation": id}')
        rec = body.get("recommendation")
        if rec not in kb.recommendations:
            raise problem(
                422,
                "Invalid request",
                "recommendation",
                f"unknown recommendation {brief(rec)}",
                "an id from GET /catalogue",
            )
        if "case" not in body:
            raise problem(422, "Invalid request", "case", "missing", "a case (fact names to values)")
        case = _case_from(state, body["case"], "case")
        return _json(state.advisor.why_not(case, str(rec)).to_dict())

    @app.get("/schema/input", tags=["JSON API"], summary="JSON Schema of a case")
    async def schema_input() -> Response:
        return _encoded("schema_input")

    @app.get("/schema/output", tags=["JSON API"], summary="JSON Schema of an assessment")
    async def schema_output() -> Response:
        return _encoded("schema_output")

    @app.get("/catalogue", tags=["JSON API"], summary="The recommendation catalogue: ids, categories, titles")
    async def catalogue() -> Response:
        return _encoded("catalogue")

    @app.get(
        f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}", tags=["FHIR"], summary="The interview as a FHIR R4 Questionnaire"
    )
    async def questionnaire() -> Response:
        return _encoded("questionnaire", "application/fhir+json")

    @app.get("/healthz", tags=["Service"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version", tags=["Service"], summary="Package, knowledge-base and FHIR-mapping versions")
    async def version() -> Response:
        return _encoded("version")

    # --- pages --------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def workbench() -> HTMLResponse:
        return HTMLResponse(state.pages["index.html"])

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(state.pages["docs.html"])

    @app.get("/audit-report", include_in_schema=False)
    async def audit_report() -> HTMLResponse:
        if state.audit_html is None:
            from spasm_advisor.analysis.clinical_cases import load_clinical_cases
            from spasm_advisor.render.audit_report import build_audit, render_html

            folder = state.knowledge_dir / "cases"
            cases = load_clinical_cases(folder, "knowledge/cases") if folder.is_dir() else []
            state.audit_html = render_html(build_audit(state.advisor, cases))
        # The report is self-contained (inline style and script) and loads nothing from elsewhere.
        csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
        return HTMLResponse(state.audit_html, headers={"Content-Security-Policy": csp})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            case_schema = {k: v for k, v in state.input_schema.items() if k not in ("$schema", "$id")}
            schema.setdefault("components", {}).setdefault("schemas", {})["Case"] = case_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
