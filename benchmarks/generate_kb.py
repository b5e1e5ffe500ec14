"""A large, seeded knowledge base for timing ``rules verify``.

The bundled rules and knowledge (facts, catalogue, sources, invariants,
hazard log and clinical cases) are copied, and
generated rules are added until the base has the requested number of rules.
Generated rules read random facts with every operator (and, now and then, a
finding of the bundled rules or of an earlier generated rule), and recommend,
withhold or caution on relief and therapy entries, or derive findings that
later generated rules read, so strata, subsumption candidates and
completion formulas grow with the base as they would in a real one. Each
generated recommendation is guarded by ``not red_flag_present`` and
``age >= 16``, as the bundled self-care rules are, so most bundled
invariants still hold.

The content is nonsense clinically: it exists only to be timed.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _literal(rng: random.Random, facts: list[dict[str, object]]) -> str | dict[str, object]:
    spec = rng.choice(facts)
    name = str(spec["id"])
    kind = spec["type"]
    roll = rng.random()
    if roll < 0.08:
        return f"{name} is {'known' if rng.random() < 0.5 else 'unknown'}"
    if kind == "boolean":
        if roll < 0.6:
            return name
        if roll < 0.8:
            return {"not": name}
        return f"{name} {rng.choice(['==', '!='])} {rng.choice(['true', 'false'])}"
    if kind == "enum":
        values = list(spec["values"])  # type: ignore[call-overload]
        return f"{name} {rng.choice(['==', '!='])} {rng.choice(values)}"
    low = int(spec.get("min") or 0)  # type: ignore[call-overload]
    high = int(spec.get("max") or low + 400)  # type: ignore[call-overload]
    return f"{name} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {rng.randint(low, high)}"


def _condition(rng: random.Random, facts: list[dict[str, object]], findings: list[str]) -> object:
    atoms: list[object] = [_literal(rng, facts) for _ in range(rng.randint(1, 3))]
    if findings and rng.random() < 0.3:
        finding = rng.choice(findings)
        atoms.append(finding if rng.random() < 0.7 else {"not": finding})
    if len(atoms) > 1 and rng.random() < 0.35:
        split = rng.randint(1, len(atoms) - 1)
        atoms = [*atoms[:split], {"any": [*atoms[split:], _literal(rng, facts)]}]
    return atoms[0] if len(atoms) == 1 else {"all": atoms}


def generate_knowledge_base(folder: Path, rules: int, seed: int = 3000) -> tuple[Path, Path]:
    """Write a base of ``rules`` rules into ``folder``; return its rules and knowledge folders."""
    rng = random.Random(seed)
    rules_dir, knowledge_dir = folder / "rules", folder / "knowledge"
    shutil.copytree(REPO / "rules", rules_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(REPO / "knowledge", knowledge_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    facts = yaml.safe_load((knowledge_dir / "facts.yaml").read_text())["facts"]
    catalogue = yaml.safe_load((knowledge_dir / "recommendations.yaml").read_text())["recommendations"]
    targets = [str(r["id"]) for r in catalogue if r["category"] in ("relief", "therapy")]
    bundled = sum(len(yaml.safe_load(p.read_text())["rules"]) for p in sorted(rules_dir.glob("*.yaml")))
    findings = ["red_flag_present", "acute", "chronic", "postural_strain", "overuse_strain", "severe_pain"]
    generated = []
    for number in range(max(0, rules - bundled)):
        roll = rng.random()
        condition = _condition(rng, facts, findings)
        if roll < 0.12:
            name = f"generated_finding_{number}"
            actions: list[dict[str, str]] = [{"derive": name}]
            findings.append(name)
        else:
            target = rng.choice(targets)
            if roll < 0.8:
                actions = [{"recommend": target}]
                parts = condition["all"] if isinstance(condition, dict) and "all" in condition else [condition]
                condition = {"all": [*parts, {"not": "red_flag_present"}, "age >= 16"]}
            elif roll < 0.9:
                actions = [{"withhold": target, "reason": "Generated contraindication."}]
            else:
                actions = [{"caution": target, "message": "Generated caution."}]
        generated.append(
            {
                "id": f"generated_{number:05d}",
                "title": f"Generated rule {number}",
                "when": condition,
                "then": actions,
                "because": "Generated for timing.",
                "sources": ["kb_clinical_convention"],
            }
        )
    document = {"version": 1, "provenance": {"author": "benchmark", "status": "testing"}, "rules": generated}
    (rules_dir / "generated.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return rules_dir, knowledge_dir
