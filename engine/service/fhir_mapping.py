"""FHIR R4 resources to facts, by the table in ``knowledge/fhir-mapping.yaml``.

The table is loaded once and checked against the knowledge base (every fact,
recommendation and code system it names must exist; a missing or malformed
file is an error). :func:`read_chart` then turns parsed FHIR resources into
facts, with the evidence for each one.

Chart data can only say *yes*: a Condition, medicine, allergy or observation
that matches the table sets a yes/no fact to ``true`` (or gives a number such
as the age or a pain score); a resource or code that is absent leaves the fact
unknown. Resources are parsed with the ``fhir.resources`` R4B models (R4B is
wire-compatible with R4 for every resource read here), never walked as raw
dictionaries, so a malformed resource is rejected with the field named.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from spasm_advisor.errors import FhirResourceError, KnowledgeBaseError, brief
from spasm_advisor.kb.conditions import Value
from spasm_advisor.kb.model import KnowledgeBase
from spasm_advisor.kb.yamlfile import decode, line_of, load_yaml_text

__all__ = [
    "CHART_RESOURCE_TYPES",
    "MAPPING_FILE",
    "BundleRead",
    "ChartReading",
    "CodeMatch",
    "Evidence",
    "FhirMapping",
    "FhirResourceError",
    "ObservationRule",
    "OrderRule",
    "ResourceRule",
    "load_fhir_mapping",
    "parse_resource",
    "read_chart",
    "resource_codings",
]

#: The file, in the knowledge folder, that holds the table.
MAPPING_FILE = "fhir-mapping.yaml"

#: The resource types :func:`read_chart` reads (Medication: what a medicine's ``medicationReference`` names).
CHART_RESOURCE_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "Medication",
        "AllergyIntolerance",
        "Observation",
    }
)

_SECTIONS = ("conditions", "medications", "allergies", "observations", "orders")
_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
_ACTIVE_STATEMENT = {"active", "intended", "on-hold"}
_ACTIVE_REQUEST = {"active", "on-hold"}
_FINAL_OBSERVATION = {"final", "amended", "corrected"}


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """One code of the table: a system URI and a code, or every code with that prefix."""

    system: str
    code: str
    prefix: bool
    display: str
    source: str

    def matches(self, system: str | None, code: str | None) -> bool:
        """Whether a coding with ``system`` and ``code`` is this entry."""
        if system != self.system or not code:
            return False
        return code.startswith(self.code) if self.prefix else code == self.code

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "system": self.system,
            "code": self.code,
            "prefix": self.prefix,
            "display": self.display,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ResourceRule:
    """A Condition, medication or allergy row: any matching code sets ``fact`` to true."""

    fact: str
    codes: tuple[CodeMatch, ...]
    history: bool = False
    min_days: int | None = None

    def match(self, codings: Iterable[tuple[str | None, str | None]]) -> CodeMatch | None:
        """The first entry matching one of ``codings``, or None."""
        for system, code in codings:
            for entry in self.codes:
                if entry.matches(system, code):
                    return entry
        return None


@dataclass(frozen=True, slots=True)
class ObservationRule:
    """An Observation row: a LOINC code and how its value becomes the fact."""

    fact: str
    code: CodeMatch
    integer: bool
    at_least: float | None
    unit: str | None
    max_age_days: int | None


@dataclass(frozen=True, slots=True)
class OrderRule:
    """An order-select row: draft orders of this kind and the catalogue items whose rules apply."""

    kind: str
    label: str
    resource: str
    recommendations: tuple[str, ...]
    codes: tuple[CodeMatch, ...]

    def match(self, codings: Iterable[tuple[str | None, str | None]]) -> CodeMatch | None:
        """The first entry matching one of ``codings``, or None."""
        for system, code in codings:
            for entry in self.codes:
                if entry.matches(system, code):
                    return entry
        return None


@dataclass(frozen=True, slots=True)
class FhirMapping:
    """The loaded table."""

    conditions: tuple[ResourceRule, ...]
    medications: tuple[ResourceRule, ...]
    allergies: tuple[ResourceRule, ...]
    observations: tuple[ObservationRule, ...]
    orders: tuple[OrderRule, ...]
    systems: Mapping[str, str]
    digest: str
    path: str

    def facts_read(self) -> tuple[str, ...]:
        """Every fact the table can set, in table order."""
        names = [r.fact for r in (*self.conditions, *self.medications, *self.allergies)]
        names += [r.fact for r in self.observations]
        return tuple(dict.fromkeys(names))


# --- loading -------------------------------------------------------------------


class _Reader:
    """Checks one YAML document against the table's shape, naming file and line on failure."""

    def __init__(self, path: str, kb: KnowledgeBase, systems: Mapping[str, str]) -> None:
        self.path = path
        self.kb = kb
        self.systems = systems

    def fail(self, node: object, message: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(message, path=self.path, line=line_of(node))

    def mapping(self, node: object, where: str, required: Sequence[str], optional: Sequence[str]) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(node, f"{where}: expected a mapping, got {brief(node)}")
        unknown = [k for k in node if k not in (*required, *optional)]
        if unknown:
            raise self.fail(node, f"{where}: unknown key '{unknown[0]}' (expected {', '.join((*required, *optional))})")
        missing = [k for k in required if k not in node]
        if missing:
            raise self.fail(node, f"{where}: missing '{missing[0]}'")
        return node

    def text(self, node: dict[str, Any], key: str, where: str) -> str:
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, f"{where}: '{key}' must be non-empty text (quote codes), got {brief(value)}")
        return value

    def items(self, node: object, where: str) -> list[Any]:
        if not isinstance(node, list) or not node:
            raise self.fail(node, f"{where}: expected a non-empty list")
        return node

    def fact(self, node: dict[str, Any], where: str, kind: str) -> str:
        name = self.text(node, "fact", where)
        spec = self.kb.facts.get(name)
        if spec is None:
            raise self.fail(node, f"{where}: unknown fact '{name}'")
        if spec.type != kind:
            raise self.fail(node, f"{where}: fact '{name}' is {spec.type}; this row needs a {kind} fact")
        return name

    def code(self, node: object, where: str) -> CodeMatch:
        entry = self.mapping(node, where, ["system", "code", "display", "source"], ["prefix"])
        alias = self.text(entry, "system", where)
        if alias not in self.systems:
            raise self.fail(entry, f"{where}: unknown system '{alias}' (declared: {', '.join(self.systems)})")
        prefix = entry.get("prefix", False)
        if not isinstance(prefix, bool):
            raise self.fail(entry, f"{where}: 'prefix' must be true or false")
        return CodeMatch(
            system=self.systems[alias],
            code=self.text(entry, "code", where),
            prefix=prefix,
            display=self.text(entry, "display", where),
            source=self.text(entry, "source", where),
        )

    def codes(self, node: dict[str, Any], where: str) -> tuple[CodeMatch, ...]:
        return tuple(self.code(c, f"{where} code {i + 1}") for i, c in enumerate(self.items(node.get("codes"), where)))

    def resource_rules(self, node: object, section: str) -> tuple[ResourceRule, ...]:
        rules = []
        optional = ["history"] if section == "conditions" else ["min_days"] if section == "medications" else []
        for i, row in enumerate(self.items(node, section)):
            where = f"{section} row {i + 1}"
            entry = self.mapping(row, where, ["fact", "codes"], optional)
            min_days = entry.get("min_days")
            if min_days is not None and (isinstance(min_days, bool) or not isinstance(min_days, int) or min_days < 1):
                raise self.fail(entry, f"{where}: 'min_days' must be a whole number of days >= 1")
            history = entry.get("history", False)
            if not isinstance(history, bool):
                raise self.fail(entry, f"{where}: 'history' must be true or false")
            rules.append(ResourceRule(self.fact(entry, where, "boolean"), self.codes(entry, where), history, min_days))
        return tuple(rules)

    def observation_rules(self, node: object) -> tuple[ObservationRule, ...]:
        rules = []
        for i, row in enumerate(self.items(node, "observations")):
            where = f"observations row {i + 1}"
            entry = self.mapping(row, where, ["fact", "code"], ["integer", "at_least", "unit", "max_age_days"])
            integer = entry.get("integer", False) is True
            at_least = entry.get("at_least")
            if integer == (at_least is not None):
                raise self.fail(entry, f"{where}: give exactly one of 'integer: true' or 'at_least'")
            if at_least is not None and (isinstance(at_least, bool) or not isinstance(at_least, int | float)):
                raise self.fail(entry, f"{where}: 'at_least' must be a number")
            unit = entry.get("unit")
            if at_least is not None and not isinstance(unit, str):
                raise self.fail(entry, f"{where}: 'at_least' needs the UCUM 'unit' it is in")
            max_age = entry.get("max_age_days")
            if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 1):
                raise self.fail(entry, f"{where}: 'max_age_days' must be a whole number >= 1")
            fact = self.fact(entry, where, "integer" if integer else "boolean")
            rules.append(
                ObservationRule(
                    fact=fact,
                    code=self.code(entry["code"], f"{where} code"),
                    integer=integer,
                    at_least=float(at_least) if at_least is not None else None,
                    unit=unit,
                    max_age_days=max_age,
                )
            )
        return tuple(rules)

    def order_rules(self, node: object) -> tuple[OrderRule, ...]:
        rules = []
        for i, row in enumerate(self.items(node, "orders")):
            where = f"orders row {i + 1}"
            entry = self.mapping(row, where, ["kind", "label", "resource", "recommendations", "codes"], [])
            resource = self.text(entry, "resource", where)
            if resource not in ("MedicationRequest", "ServiceRequest"):
                raise self.fail(entry, f"{where}: 'resource' must be MedicationRequest or ServiceRequest")
            recs = self.items(entry["recommendations"], f"{where} recommendations")
            for rec in recs:
                if rec not in self.kb.recommendations:
                    raise self.fail(entry, f"{where}: unknown recommendation '{brief(rec)}'")
            rules.append(
                OrderRule(
                    kind=self.text(entry, "kind", where),
                    label=self.text(entry, "label", where),
                    resource=resource,
                    recommendations=tuple(recs),
                    codes=self.codes(entry, where),
                )
            )
        return tuple(rules)


def load_fhir_mapping(
    knowledge_dir: str | Path | Traversable, kb: KnowledgeBase, *, label: str | None = None
) -> FhirMapping:
    """Load and check ``fhir-mapping.yaml`` from a knowledge folder.

    Raises:
        KnowledgeBaseError: the file is missing or unreadable, or names a fact,
            recommendation or code system that does not exist (fail closed).
    """
    folder = Path(knowledge_dir) if isinstance(knowledge_dir, str) else knowledge_dir
    path = f"{label or folder}/{MAPPING_FILE}"
    entry = folder / MAPPING_FILE
    try:
        data = entry.read_bytes()
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read the FHIR mapping: {exc.strerror or exc}", path=path) from exc
    doc = load_yaml_text(decode(data, path), path)
    top = _Reader(path, kb, {})
    top.mapping(doc, "the FHIR mapping", ["version", "systems", *_SECTIONS], [])
    if doc["version"] != 1:
        raise top.fail(doc, f"unsupported version {brief(doc['version'])} (expected 1)")
    systems = top.mapping(doc["systems"], "systems", [], list(doc["systems"]))
    for alias, uri in systems.items():
        if not isinstance(uri, str) or ":" not in uri:
            raise top.fail(systems, f"systems: '{alias}' must be a URI")
    reader = _Reader(path, kb, systems)
    orders = reader.order_rules(doc["orders"])
    return FhirMapping(
        conditions=reader.resource_rules(doc["conditions"], "conditions"),
        medications=reader.resource_rules(doc["medications"], "medications"),
        allergies=reader.resource_rules(doc["allergies"], "allergies"),
        observations=reader.observation_rules(doc["observations"]),
        orders=orders,
        systems=dict(systems),
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        path=path,
    )


# --- parsing ---------------------------------------------------------------------


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _model_class(data: object, where: str) -> Any:
    """The R4B model class a JSON resource names in ``resourceType``."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(data, dict):
        raise FhirResourceError(where, f"expected a FHIR resource (a JSON object), got {brief(data)}", "a JSON object")
    kind = data.get("resourceType")
    if not isinstance(kind, str):
        raise FhirResourceError(f"{where}.resourceType", "missing", "a FHIR resource type such as 'Patient'")
    try:
        return get_fhir_model_class(kind)
    except (KeyError, ValueError):
        raise FhirResourceError(
            f"{where}.resourceType", f"unknown resource type {brief(kind)}", "a FHIR R4 resource type"
        ) from None


def _validate(model: Any, data: Mapping[str, Any], where: str) -> Any:
    kind = data.get("resourceType")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _location(first.get("loc", ()))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise FhirResourceError(f"{where}{loc}", message, f"a valid FHIR R4 {kind}") from None
    except (ValueError, TypeError) as exc:
        raise FhirResourceError(where, brief(str(exc), 200), f"a valid FHIR R4 {kind}") from None


@dataclass(frozen=True, slots=True)
class BundleRead:
    """A parsed Bundle: its envelope (the entries without their resources) and the entries' resources.

    ``resources`` holds the entries' resources of the types asked for, each
    validated by its own model, in entry order; ``skipped`` counts the entries
    of other types (their type is checked, their content is not read).
    """

    envelope: Any
    resources: tuple[Any, ...]
    skipped: int = 0

    @staticmethod
    def get_resource_type() -> str:
        """``"Bundle"``, as the models answer."""
        return "Bundle"


def _parse_bundle(model: Any, data: Mapping[str, Any], where: str, kinds: Collection[str] | None) -> BundleRead:
    """A Bundle, validated as an envelope and then entry by entry.

    Validating each entry's resource by its own model, rather than the Bundle
    model with every resource inside it, costs less and names the same fields
    (``where.entry[2].resource.subject``).
    """
    entries = data.get("entry")
    if not isinstance(entries, list):
        return BundleRead(_validate(model, data, where), ())
    bare = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries]
    envelope = _validate(model, {**data, "entry": bare}, where)  # every entry is a mapping from here on
    resources = []
    skipped = 0
    for i, entry in enumerate(entries):
        raw = entry.get("resource")
        if raw is None:
            continue
        here = f"{where}.entry[{i}].resource"
        entry_model = _model_class(raw, here)
        if kinds is not None and raw["resourceType"] not in kinds:
            skipped += 1
            continue
        resources.append(_parse(entry_model, raw, here, kinds))
    return BundleRead(envelope, tuple(resources), skipped)


def _parse(model: Any, data: Mapping[str, Any], where: str, kinds: Collection[str] | None) -> Any:
    if data["resourceType"] == "Bundle":
        return _parse_bundle(model, data, where, kinds)
    return _validate(model, data, where)


def parse_resource(data: object, where: str, *, kinds: Collection[str] | None = None) -> Any:
    """Parse one FHIR resource (any type, a Bundle included) with the R4B models.

    A Bundle comes back as a :class:`BundleRead`. With ``kinds``, only the
    Bundle entries of those resource types are validated and kept (the others
    must still name a FHIR resource type): what is not read is not parsed.

    Raises:
        FhirResourceError: naming the field (``where`` plus the path inside the resource).
    """
    model = _model_class(data, where)  # refuses anything but a mapping
    return _parse(model, cast("dict[str, Any]", data), where, kinds)


def resources_in(resource: Any) -> Iterator[Any]:
    """The resource itself, or the resources of a Bundle's entries."""
    if resource is None:
        return
    if isinstance(resource, BundleRead):
        yield from resource.resources
    elif resource.get_resource_type() == "Bundle":
        for entry in resource.entry or ():
            if entry.resource is not None:
                yield entry.resource
    else:
        yield resource


def _codings(concept: Any) -> list[tuple[str | None, str | None]]:
    if concept is None:
        return []
    return [(c.system, c.code) for c in concept.coding or ()]


def resource_codings(
    resource: Any, by_reference: Mapping[str, Any] | None = None
) -> list[tuple[str | None, str | None]]:
    """The (system, code) pairs that identify what a resource is about.

    Condition, ServiceRequest, AllergyIntolerance and Observation: ``code``.
    MedicationStatement and MedicationRequest: ``medicationCodeableConcept``,
    or the code of the Medication their ``medicationReference`` points to
    (contained, or among the other resources given in ``by_reference``).
    """
    kind = resource.get_resource_type()
    if kind in ("MedicationStatement", "MedicationRequest"):
        if resource.medicationCodeableConcept is not None:
            return _codings(resource.medicationCodeableConcept)
        ref = resource.medicationReference.reference if resource.medicationReference is not None else None
        if not ref:
            return []
        if ref.startswith("#"):
            for contained in resource.contained or ():
                if contained.get_resource_type() == "Medication" and contained.id == ref[1:]:
                    return _codings(contained.code)
            return []
        medication = (by_reference or {}).get(ref)
        return _codings(medication.code) if medication is not None else []
    return _codings(getattr(resource, "code", None))


# --- reading a chart ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a fact has its value: the resource and the code (or value) that set it."""

    fact: str
    value: Value
    resource: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"fact": self.fact, "value": self.value, "resource": self.resource, "detail": self.detail}


@dataclass(slots=True)
class ChartReading:
    """The facts read from a chart, with evidence and the entries that were read but not used."""

    facts: dict[str, Value] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def set(self, fact: str, value: Value, resource: str, detail: str) -> None:
        """Record ``fact = value``.

        Yes wins over no (a recorded risk is never cleared); for numbers the
        first resource wins and a disagreeing one is noted.
        """
        old = self.facts.get(fact)
        if isinstance(value, bool):
            self.facts[fact] = old is True or value
        elif old is None:
            self.facts[fact] = value
        elif old != value:
            self.notes.append(f"{fact}: {resource} gives {value}, kept {old} from an earlier resource")
            return
        self.evidence.append(Evidence(fact, value, resource, detail))


def _name(resource: Any) -> str:
    kind = resource.get_resource_type()
    return f"{kind}/{resource.id}" if resource.id else kind


def _status(concept: Any) -> str | None:
    codes = [c for _, c in _codings(concept) if c]
    return codes[0] if codes else None


def _as_date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return None


def _age(birth: object, today: datetime.date) -> int | None:
    born = _as_date(birth)
    if born is None:  # a partial date (year or year-month) cannot fix the age to the year
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _medication_start(resource: Any) -> datetime.date | None:
    if resource.get_resource_type() == "MedicationStatement":
        if resource.effectivePeriod is not None:
            return _as_date(resource.effectivePeriod.start)
        return _as_date(resource.effectiveDateTime)
    return _as_date(resource.authoredOn)


def _observation_date(resource: Any) -> datetime.date | None:
    if resource.effectiveDateTime is not None:
        return _as_date(resource.effectiveDateTime)
    if resource.effectivePeriod is not None:
        return _as_date(resource.effectivePeriod.end or resource.effectivePeriod.start)
    return _as_date(resource.effectiveInstant)


def _coded(codings: Sequence[tuple[str | None, str | None]]) -> str:
    return ", ".join(f"{s}|{c}" for s, c in codings[:3])


def read_chart(
    mapping: FhirMapping, kb: KnowledgeBase, resources: Iterable[Any], *, today: datetime.date
) -> ChartReading:
    """Facts from parsed FHIR resources.

    Reads Patient, Condition, MedicationStatement, MedicationRequest,
    AllergyIntolerance and Observation (:data:`CHART_RESOURCE_TYPES`; a
    Bundle is read as its entries); other resources are ignored.

    ``today`` fixes ages, medication durations and how old an observation may be.
    """
    reading = ChartReading()
    items = [item for resource in resources for item in resources_in(resource)]
    by_reference = {_name(r): r for r in items if r.id}
    latest: dict[str, tuple[datetime.date, Any]] = {}
    for resource in items:
        kind = resource.get_resource_type()
        name = _name(resource)
        if kind == "Patient":
            age = _age(resource.birthDate, today)
            if age is not None and 0 <= age <= (kb.facts["age"].maximum or 150):
                reading.set("age", age, name, f"birthDate {resource.birthDate}")
            elif resource.birthDate is not None:
                reading.notes.append(f"age: {name} birthDate {resource.birthDate} does not give a whole age")
        elif kind == "Condition":
            if _status(resource.verificationStatus) in _EXCLUDED_VERIFICATION:
                continue
            clinical = _status(resource.clinicalStatus)
            codings = resource_codings(resource)
            for rule in mapping.conditions:
                matched = rule.match(codings)
                if matched is None:
                    continue
                if not rule.history and clinical is not None and clinical not in _ACTIVE_CONDITION:
                    reading.notes.append(f"{rule.fact}: {name} is {clinical}, not active")
                    continue
                reading.set(rule.fact, True, name, f"{matched.system}|{matched.code} {matched.display}")
        elif kind in ("MedicationStatement", "MedicationRequest"):
            wanted = _ACTIVE_STATEMENT if kind == "MedicationStatement" else _ACTIVE_REQUEST
            if resource.status not in wanted:
                continue
            codings = resource_codings(resource, by_reference)
            for rule in mapping.medications:
                matched = rule.match(codings)
                if matched is None:
                    continue
                if rule.min_days is not None:
                    started = _medication_start(resource)
                    if started is None or (today - started).days < rule.min_days:
                        since = f"since {started}" if started else "with no start date"
                        reading.notes.append(f"{rule.fact}: {name} {since}, under {rule.min_days} days known")
                        continue
                reading.set(rule.fact, True, name, f"{matched.system}|{matched.code} {matched.display}")
        elif kind == "AllergyIntolerance":
            if _status(resource.verificationStatus) in _EXCLUDED_VERIFICATION:
                continue
            clinical = _status(resource.clinicalStatus)
            if clinical is not None and clinical != "active":
                continue
            codings = resource_codings(resource)
            for rule in mapping.allergies:
                matched = rule.match(codings)
                if matched is not None:
                    reading.set(rule.fact, True, name, f"{matched.system}|{matched.code} {matched.display}")
        elif kind == "Observation":
            if resource.status not in _FINAL_OBSERVATION:
                continue
            codings = resource_codings(resource)
            for obs_rule in mapping.observations:
                if not any(obs_rule.code.matches(s, c) for s, c in codings):
                    continue
                when = _observation_date(resource)
                if when is None:
                    reading.notes.append(f"{obs_rule.fact}: {name} has no date, not used")
                    continue
                if obs_rule.max_age_days is not None and (today - when).days > obs_rule.max_age_days:
                    reading.notes.append(
                        f"{obs_rule.fact}: {name} from {when} is older than {obs_rule.max_age_days} days"
                    )
                    continue
                previous = latest.get(obs_rule.fact)
                if previous is None or when >= previous[0]:
                    latest[obs_rule.fact] = (when, resource)
    for fact, (when, resource) in latest.items():
        row = next(r for r in mapping.observations if r.fact == fact)
        _observation_value(reading, kb, row, resource, when)
    return reading


def _observation_value(
    reading: ChartReading, kb: KnowledgeBase, rule: ObservationRule, resource: Any, when: object
) -> None:
    name = _name(resource)
    quantity = resource.valueQuantity
    if rule.integer:
        raw: object = resource.valueInteger
        if (
            raw is None
            and quantity is not None
            and quantity.value is not None
            and quantity.value == int(quantity.value)
        ):
            raw = int(quantity.value)
        spec = kb.facts[rule.fact]
        if not isinstance(raw, int) or isinstance(raw, bool):
            reading.notes.append(f"{rule.fact}: {name} has no whole-number value")
            return
        if (spec.minimum is not None and raw < spec.minimum) or (spec.maximum is not None and raw > spec.maximum):
            reading.notes.append(f"{rule.fact}: {name} value {raw} is outside {spec.domain_text()}")
            return
        reading.set(rule.fact, raw, name, f"{rule.code.system}|{rule.code.code} = {raw} on {when}")
        return
    if quantity is None or quantity.value is None or quantity.code != rule.unit:
        reading.notes.append(f"{rule.fact}: {name} has no value in {rule.unit}")
        return
    if rule.at_least is not None and float(quantity.value) >= rule.at_least:
        reading.set(
            rule.fact, True, name, f"{rule.code.system}|{rule.code.code} = {quantity.value} {rule.unit} on {when}"
        )
