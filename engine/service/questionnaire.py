"""The interview as a FHIR R4 Questionnaire, and its QuestionnaireResponse as a case.

The Questionnaire has one group per interview group (see
:data:`spasm_advisor.io.interview.ROLE_GROUPS`), each fact a question whose
``linkId`` is the fact id, in the interview's asking order. The interview
stops as soon as an answer makes the triage an emergency; ``enableWhen``
carries that: every question after a warning sign that is enough on its own
for emergency care is enabled only while none of those signs was answered
"yes" (operator ``!=``, which in R4 holds for an unanswered question too).

A QuestionnaireResponse to it becomes a case: each answered item gives its
fact, an unanswered item leaves the fact unknown, and an explicit "no"
(``valueBoolean: false``) is a no.
"""

from __future__ import annotations

from typing import Any

from spasm_advisor.errors import brief
from spasm_advisor.inference.advisor import Advisor
from spasm_advisor.io.interview import ROLE_GROUPS, question_order
from spasm_advisor.kb.conditions import Value
from spasm_advisor.kb.model import FactSpec, KnowledgeBase
from spasm_advisor.service.fhir_mapping import FhirResourceError

__all__ = [
    "QUESTIONNAIRE_ID",
    "QUESTIONNAIRE_URL",
    "VALUE_SYSTEM",
    "answers_from_response",
    "build_questionnaire",
    "emergency_signs",
]

QUESTIONNAIRE_ID = "spasm-interview"
#: Canonical URL of the Questionnaire (an unregistered URN: replace with the deploying organisation's base).
QUESTIONNAIRE_URL = "urn:spasm-advisor:Questionnaire/spasm-interview"
#: Code system of the answers to questions with a fixed list of values (posture: good, poor).
VALUE_SYSTEM = "urn:spasm-advisor:CodeSystem/fact-value"

_GROUP_TITLES = {
    "red_flag": "Warning signs",
    "context": "This episode",
    "sign": "Signs, causes and known conditions",
    "caution": "Medicines, other conditions and preferences",
}
_EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
_EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
_EXT_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"


def emergency_signs(advisor: Advisor) -> tuple[str, ...]:
    """Yes/no facts that on their own make the triage an emergency, in asking order.

    Found by assessing each one alone, so the answer is the engine's own.
    """
    kb = advisor.knowledge_base
    return tuple(
        name
        for name in question_order(kb)
        if kb.facts[name].type == "boolean" and advisor.assess({name: True}).triage == "emergency"
    )


def _question(spec: FactSpec, enable_after: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": spec.id, "text": spec.question, "required": False}
    if spec.type == "boolean":
        item["type"] = "boolean"
    elif spec.type == "integer":
        item["type"] = "integer"
        extensions = []
        if spec.minimum is not None:
            extensions.append({"url": _EXT_MIN, "valueInteger": spec.minimum})
        if spec.maximum is not None:
            extensions.append({"url": _EXT_MAX, "valueInteger": spec.maximum})
        if spec.unit:
            extensions.append({"url": _EXT_UNIT, "valueCoding": {"display": spec.unit}})
        if extensions:
            item["extension"] = extensions
    else:
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": {"system": VALUE_SYSTEM, "code": v, "display": v}} for v in spec.values]
    if enable_after:
        item["enableWhen"] = [{"question": f, "operator": "!=", "answerBoolean": True} for f in enable_after]
        item["enableBehavior"] = "all"
    return item


def build_questionnaire(advisor: Advisor) -> dict[str, Any]:
    """The interview as a FHIR R4 Questionnaire resource (plain JSON data)."""
    kb = advisor.knowledge_base
    order = question_order(kb)
    signs = set(emergency_signs(advisor))
    asked_signs: list[str] = []
    groups = []
    for roles in ROLE_GROUPS:
        questions = []
        for name in order:
            spec = kb.facts[name]
            if spec.role not in roles:
                continue
            questions.append(_question(spec, list(asked_signs)))
            if name in signs:
                asked_signs.append(name)
        if questions:
            groups.append(
                {
                    "linkId": f"group-{roles[0]}",
                    "text": _GROUP_TITLES.get(roles[0], ", ".join(roles)),
                    "type": "group",
                    "item": questions,
                }
            )
    grouped = {f for roles in ROLE_GROUPS for f in order if kb.facts[f].role in roles}
    others = [_question(kb.facts[f], list(asked_signs)) for f in order if f not in grouped]
    if others:
        groups.append({"linkId": "group-other", "text": "Other questions", "type": "group", "item": others})
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "SpasmAdvisorInterview",
        "title": "Spasm Advisor interview: back muscle spasm",
        "status": "draft",
        "subjectType": ["Patient"],
        "description": (
            "The Spasm Advisor interview. Each question's linkId is a fact of the knowledge base; an "
            f"unanswered question is unknown, never 'no'. Knowledge base {kb.digest}."
        ),
        "item": groups,
    }


def _answer_value(spec: FactSpec, answer: Any, where: str) -> Value:
    if spec.type == "boolean":
        if answer.valueBoolean is None:
            raise FhirResourceError(where, "expected valueBoolean", "valueBoolean true or false")
        return bool(answer.valueBoolean)
    if spec.type == "integer":
        if answer.valueInteger is None:
            raise FhirResourceError(where, "expected valueInteger", spec.domain_text())
        return int(answer.valueInteger)
    coding = answer.valueCoding
    if coding is None or coding.code is None:
        raise FhirResourceError(where, "expected valueCoding", f"a coding from {VALUE_SYSTEM}: {spec.domain_text()}")
    if coding.system not in (None, VALUE_SYSTEM):
        raise FhirResourceError(where, f"unknown code system {brief(coding.system)}", f"system {VALUE_SYSTEM}")
    return str(coding.code)


def answers_from_response(response: Any, kb: KnowledgeBase, where: str = "body") -> dict[str, Value]:
    """The facts a parsed QuestionnaireResponse answers (unanswered items are left out).

    Raises:
        FhirResourceError: for another questionnaire, an item that is not a
            fact, more than one answer, or an answer of the wrong type; the
            field names the item (``body.item[2].item[0].answer[0]``).
    """
    if response.questionnaire not in (QUESTIONNAIRE_URL, None) and not str(response.questionnaire).endswith(
        f"Questionnaire/{QUESTIONNAIRE_ID}"
    ):
        raise FhirResourceError(
            f"{where}.questionnaire", f"not this interview: {brief(response.questionnaire)}", QUESTIONNAIRE_URL
        )
    values: dict[str, Value] = {}

    def walk(items: Any, path: str) -> None:
        for i, item in enumerate(items or ()):
            here = f"{path}.item[{i}]"
            if item.item:
                walk(item.item, here)
            if not item.answer:
                continue
            spec = kb.facts.get(item.linkId)
            if spec is None:
                raise FhirResourceError(f"{here}.linkId", f"unknown question {brief(item.linkId)}", "a fact id")
            if len(item.answer) > 1:
                raise FhirResourceError(f"{here}.answer", "more than one answer", "at most one answer")
            values[spec.id] = _answer_value(spec, item.answer[0], f"{here}.answer[0]")

    walk(response.item, where)
    return values
