"""A veto scenario for experta's agenda: many same-salience activations, one vetoed.

Run as a script: ``python veto_scenario.py RULES KNOWLEDGE [depth]`` prints two
lines of recommendation ids for a case with a red flag: as the advisor assesses
it (the case declared stratum by stratum), then with every stratum's case fact
declared at once, so that the rules reading the red flag's absence are put on
the agenda before it is derived and must be taken off again. With ``depth`` it
swaps in experta's own DepthStrategy, to show the second way is one that
strategy gets wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

CATALOGUE_IDS = [f"remedy_{i:02d}" for i in range(12)]
KEPT_IDS = [f"kept_{i:02d}" for i in range(12)]


def write_kb(root: Path) -> tuple[Path, Path]:
    """Write a knowledge base where 12 self-care rules are vetoed by one red flag."""
    rules, knowledge = root / "rules", root / "knowledge"
    rules.mkdir(parents=True)
    knowledge.mkdir(parents=True)
    (knowledge / "sources.yaml").write_text("version: 1\nsources:\n  - {id: src, title: Source}\n")
    facts = ["version: 1", "facts:"]
    for i in range(6):
        facts.append(f"  - {{id: flag_{i}, type: boolean, question: q, description: d, role: red_flag}}")
    (knowledge / "facts.yaml").write_text("\n".join(facts) + "\n")
    recs = ["version: 1", "recommendations:"]
    for rec in [*CATALOGUE_IDS, *KEPT_IDS, "referral"]:
        cat = "referral" if rec == "referral" else "relief"
        recs.append(f"  - {{id: {rec}, category: {cat}, title: {rec}, advice: a, evidence: [], sources: [src]}}")
    (knowledge / "recommendations.yaml").write_text("\n".join(recs) + "\n")
    (knowledge / "hazards.yaml").write_text("version: 1\nhazards: []\n")
    lines = ["version: 1", "rules:"]
    flags = ", ".join(f"flag_{i}" for i in range(6))
    lines.append(
        f"  - {{id: any_flag, title: t, when: {{any: [{flags}]}}, then: [{{derive: red_flag_present}}], because: b, sources: [src]}}"
    )
    lines.append(
        "  - {id: refer, title: t, when: red_flag_present, then: [{triage: urgent}, {recommend: referral}], because: b, sources: [src]}"
    )
    # A finding that never holds, so rules reading its absence sit in the same
    # stratum (same salience) as the vetoed ones and stay on the agenda.
    lines.append(
        "  - {id: never, title: t, when: {all: [flag_0, {not: flag_0}]}, then: [{derive: never_holds}], because: b, sources: [src]}"
    )
    for rec in CATALOGUE_IDS:
        lines.append(
            f"  - {{id: give_{rec}, title: t, when: {{not: red_flag_present}}, then: [{{recommend: {rec}}}], because: b, sources: [src]}}"
        )
        lines.append(
            f"  - {{id: keep_{rec}, title: t, when: {{not: never_holds}}, then: [{{recommend: kept_{rec[-2:]}}}], because: b, sources: [src]}}"
        )
    (rules / "rules.yaml").write_text("\n".join(lines) + "\n")
    from spasm_advisor.kb.loader import seal_knowledge_base

    seal_knowledge_base(rules, knowledge)  # loaded sealed, as any finished knowledge base
    return rules, knowledge


def main(argv: list[str]) -> None:
    from spasm_advisor import Advisor
    from spasm_advisor.inference._experta import new_fact
    from spasm_advisor.inference.assessment import assemble
    from spasm_advisor.inference.compiler import STRATUM, CaseFact, Finding

    advisor = Advisor.from_paths(argv[0], argv[1])
    if len(argv) > 2 and argv[2] == "depth":
        from experta.strategies import DepthStrategy

        advisor.compiled.engine_class.__strategy__ = DepthStrategy
    # Several flags so that several findings activations arrive in one step.
    case = advisor.case({f"flag_{i}": True for i in range(6)})
    sys.stdout.write(" ".join(advisor.assess(case).recommendation_ids()) + "\n")
    engine = advisor.compiled.new_engine()
    engine.reset()
    values = {name: case.get(name) for name in advisor.compiled.fact_names}
    for stratum in engine.strata:
        engine.declare(new_fact(CaseFact, {**values, STRATUM: stratum}))
    engine.run()
    branches = [advisor.compiled.branches[i] for i in engine.trace]
    findings = {fact["name"] for fact in engine.facts.values() if isinstance(fact, Finding)}
    at_once = assemble(advisor.knowledge_base, case, branches, findings)
    sys.stdout.write(" ".join(at_once.recommendation_ids()) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
