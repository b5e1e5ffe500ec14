"""Mutation testing of the bundled rules: does the test suite notice a wrong rule?

Applies one mutation at a time to the YAML rules (delete a rule, drop a
withhold, drop one condition of an all/any, flip a comparison, move a
threshold), then runs, against each mutant:

- the clinical cases in knowledge/cases/;
- the rule properties of tests/properties (red-flag dominance, referral per
  triage level, no manipulation or massage with a red flag, contraindications,
  monotonicity of red flags and cautions, explanation soundness, and every
  invariant in knowledge/invariants.yaml) on a fixed, seeded sample of cases
  drawn like ``spasm_advisor.testing.cases``.

A mutant is killed when any check fails, or when the hazard log
(knowledge/hazards.yaml) names what it removed, so it no longer loads. A
mutant that survives is compared with the original by ``rules diff`` over
every possible case: if no case at all is assessed differently it is
equivalent and left out of the score;
otherwise the script prints one case that tells them apart, so it can be
killed by a new clinical case or explained. Usage::

    python scripts/mutate_kb.py [--sample 200] [--workers 2] [--limit N] [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
ATOM = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*([A-Za-z0-9_+-]+)\s*$")
FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def load_rule_files() -> dict[str, Any]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((REPO / "rules").glob("*.yaml"))}


def _conditions(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if key in ("all", "any"):
            for i, item in enumerate(value):
                yield from _conditions(item, (*path, key, i))
        elif key == "not":
            yield from _conditions(value, (*path, "not"))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _set(root: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    if not path:
        root["when"] = value
        return
    parent = _get(root["when"], path[:-1])
    parent[path[-1]] = value


def mutants(files: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every single mutation: (description, mutated rule files)."""
    for fname, doc in files.items():
        for index, rule in enumerate(doc["rules"]):
            rid = rule["id"]

            def mutated(change: Any, fname: str = fname, index: int = index) -> dict[str, Any]:
                new = copy.deepcopy(files)
                change(new[fname]["rules"][index])
                return new

            without = copy.deepcopy(files)
            without[fname]["rules"].pop(index)
            yield f"delete rule {rid}", without
            for a, action in enumerate(rule["then"]):
                if "withhold" in action and len(rule["then"]) > 1:  # alone, it is "delete rule"
                    yield f"drop withhold {action['withhold']} from {rid}", mutated(lambda r, a=a: r["then"].pop(a))
            for path, node in _conditions(rule["when"]):
                if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("all", "any"):
                    key = next(iter(node))
                    if len(node[key]) >= 2:
                        for i in range(len(node[key])):

                            def drop(
                                r: dict[str, Any], path: tuple[Any, ...] = path, key: str = key, i: int = i
                            ) -> None:
                                _get(r["when"], path)[key].pop(i)

                            yield f"drop condition {i + 1} of {key} at {rid}", mutated(drop)
                if isinstance(node, str):
                    match = ATOM.match(node)
                    if match:
                        name, op, value = match.groups()
                        flipped = f"{name} {FLIP[op]} {value}"
                        yield (
                            f"flip '{node}' to '{flipped}' in {rid}",
                            mutated(lambda r, p=path, t=flipped: _set(r, p, t)),
                        )
                        if re.fullmatch(r"[+-]?\d+", value):
                            for delta in (-1, 1):
                                moved = f"{name} {op} {int(value) + delta}"
                                yield (
                                    f"move '{node}' to '{moved}' in {rid}",
                                    mutated(lambda r, p=path, t=moved: _set(r, p, t)),
                                )
                    elif re.fullmatch(r"[a-z][a-z0-9_]*", node.strip()):
                        yield f"negate '{node}' in {rid}", mutated(lambda r, p=path, n=node: _set(r, p, {"not": n}))


def sample_cases(kb: Any, count: int, seed: int) -> list[dict[str, Any]]:
    """Seeded cases drawn like spasm_advisor.testing.cases; a quarter with every red flag answered no."""
    from spasm_advisor import testing

    # Red flags mostly no, so benign paths are exercised too.
    out = testing.sample_cases(kb, count, seed=seed, red_flag_yes_rate=0.15, near_rate=0.7)
    for case in out[::4]:
        case.update(dict.fromkeys(kb.red_flags(), False))
    return out


def property_failures(advisor: Any, original_kb: Any, case: dict[str, Any]) -> list[str]:
    """Which rule properties of tests/properties fail for this case (empty when all hold)."""
    from spasm_advisor.kb.model import triage_rank
    from spasm_advisor.testing import REFERRAL_FOR_TRIAGE, assert_invariants, assert_sound

    kb = advisor.knowledge_base
    failures = []
    result = advisor.assess(case)
    given = set(result.recommendation_ids())
    red = any(case.get(f) is True for f in kb.red_flags())
    if red and (result.triage == "self_care" or not given & set(REFERRAL_FOR_TRIAGE.values())):
        failures.append("red flag without referral")
    # Symptoms in both legs are exempt only when stated long-standing and unchanged in known stenosis.
    stable_stenosis = case.get("spinal_stenosis") is True and case.get("leg_symptoms_new_or_worsening") is False
    ces = any(case.get(f) is True for f in ("saddle_anaesthesia", "bladder_or_bowel_dysfunction")) or (
        case.get("bilateral_leg_symptoms") is True and not stable_stenosis
    )
    if ces and (result.triage != "emergency" or "emergency_care" not in given):
        failures.append("CES sign not emergency")
    if result.triage != "self_care" and REFERRAL_FOR_TRIAGE[result.triage] not in given:
        failures.append("triage without its referral")
    if red and given & {"chiropractic_care", "massage_therapy"}:
        failures.append("manipulation or massage with red flag")
    for check, name in ((assert_sound, "explanation soundness"), (assert_invariants, "invariant")):
        try:
            check(result, kb) if check is assert_sound else check(advisor, case)
        except AssertionError:
            failures.append(name)
    for flag in kb.red_flags():
        if case.get(flag) is not True:
            raised = advisor.assess({**case, flag: True})
            if triage_rank(raised.triage) < triage_rank(result.triage):
                failures.append("red flag lowers triage")
                break
    for rule in original_kb.rules:  # caution guards of the original base
        targets = {a.target for a in rule.actions if a.kind == "withhold"}
        for fact in rule.facts_read():
            if original_kb.facts[fact].role == "caution" and case.get(fact) is not True:
                on = set(advisor.assess({**case, fact: True}).recommendation_ids())
                if targets & on - given:
                    failures.append("caution adds what it guards")
    return failures


def evaluate(job: tuple[str, dict[str, Any], list[dict[str, Any]]]) -> tuple[str, str, str]:
    """(description, verdict, detail) for one mutant."""
    from spasm_advisor import Advisor, KnowledgeBaseError
    from spasm_advisor.analysis.clinical_cases import check_case, load_clinical_cases

    description, files, sample = job
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        for name, doc in files.items():
            (rules_dir / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        try:
            advisor = Advisor.from_paths(rules_dir, REPO / "knowledge", sealed=False)  # a mutant is never sealed
        except KnowledgeBaseError as exc:
            # The hazard log names the rule or withhold the mutant removed: the
            # mutant cannot load, so the safety case has caught it.
            if exc.path is not None and exc.path.endswith("hazards.yaml"):
                return description, "killed_by_hazard_log", str(exc)
            return description, "invalid", str(exc)
        original = Advisor.from_paths(REPO / "rules", REPO / "knowledge").knowledge_base
        for case in load_clinical_cases(REPO / "knowledge" / "cases"):
            problems = check_case(advisor, case)
            if problems:
                return description, "killed_by_cases", f"{case.id}: {problems[0]}"
        for case in sample:
            failures = property_failures(advisor, original, case)
            if failures:
                return description, "killed_by_properties", f"{failures[0]} for {case}"
        # A survivor that no case at all can tell apart is an equivalent mutant.
        from spasm_advisor.analysis.diff import diff_knowledge_bases

        differences = diff_knowledge_bases(original, advisor.knowledge_base).behaviour
        if not differences:
            return description, "equivalent", ""
        first = differences[0]
        return description, "survived", f"{first.aspect}: {first.old} -> {first.new}, e.g. {first.example}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=200, help="generated cases per mutant")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--limit", type=int, default=None, help="only the first N mutants")
    parser.add_argument(
        "--only", metavar="FILE", help="only the mutants whose descriptions are listed in FILE, one per line"
    )
    args = parser.parse_args(argv)

    from spasm_advisor import Advisor

    kb = Advisor.from_paths(REPO / "rules", REPO / "knowledge").knowledge_base
    sample = sample_cases(kb, args.sample, args.seed)
    jobs = [(d, files, sample) for d, files in mutants(load_rule_files())]
    if args.only:
        wanted = {line.split("  (")[0].strip() for line in Path(args.only).read_text().splitlines() if line.strip()}
        jobs = [job for job in jobs if job[0] in wanted]
    if args.limit:
        jobs = jobs[: args.limit]
    counts: dict[str, int] = {}
    survivors = []
    with multiprocessing.Pool(args.workers) as pool:
        for n, (description, verdict, detail) in enumerate(pool.imap(evaluate, jobs, chunksize=4), 1):
            counts[verdict] = counts.get(verdict, 0) + 1
            if verdict == "survived":
                survivors.append(f"{description}  ({detail})")
            print(
                f"[{n}/{len(jobs)}] {verdict:21} {description}" + (f"  ({detail[:120]})" if detail else ""), flush=True
            )
    valid = len(jobs) - counts.get("invalid", 0) - counts.get("equivalent", 0)
    killed = sum(counts.get(k, 0) for k in ("killed_by_hazard_log", "killed_by_cases", "killed_by_properties"))
    print()
    print(
        f"mutants: {len(jobs)} ({counts.get('invalid', 0)} rejected by the loader, "
        f"{counts.get('equivalent', 0)} equivalent: no case at all is assessed differently; {valid} counted)"
    )
    print(f"killed by the hazard log: {counts.get('killed_by_hazard_log', 0)} (the base no longer loads)")
    print(f"killed by clinical cases: {counts.get('killed_by_cases', 0)}")
    print(f"killed by properties:     {counts.get('killed_by_properties', 0)}")
    print(f"survived:                 {len(survivors)}")
    print(f"mutation score: {killed}/{valid} = {100 * killed / max(valid, 1):.1f}%")
    for description in survivors:
        print(f"  survivor: {description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
