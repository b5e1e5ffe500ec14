"""The hazard log: the DCB0129 risk matrix, and every reference checked when the knowledge base loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import KnowledgeBaseError, load_knowledge_base
from spasm_advisor.kb.hazards import LIKELIHOODS, SEVERITIES, risk_rating

MINI = DATA / "mini"

# The DCB0129/DCB0160 clinical risk matrix as NHS England publishes it with
# its hazard logs (UK Core FHIR hazard log, "Risk Matrix"), in the
# publication's layout: likelihood down, severity (consequence) across.
PUBLISHED_MATRIX = """
              Minor  Significant  Considerable  Major  Catastrophic
Very high     3      4            4             5      5
High          2      3            3             4      5
Medium        2      2            3             3      4
Low           1      2            2             3      4
Very low      1      1            2             2      3
"""


def _published_cells() -> list[tuple[str, str, int]]:
    header, *rows = [line.split() for line in PUBLISHED_MATRIX.strip().splitlines()]
    cells = []
    for row in rows:
        likelihood = " ".join(row[:-5])
        for severity, rating in zip(header, row[-5:], strict=True):
            cells.append((severity, likelihood, int(rating)))
    return cells


@pytest.mark.parametrize(("severity", "likelihood", "rating"), _published_cells())
def test_risk_rating_is_the_published_cell(severity, likelihood, rating):
    """Each of the 25 cells of the published matrix is the rating computed for its severity and likelihood."""
    assert risk_rating(severity, likelihood) == rating


def test_published_matrix_covers_every_level_once():
    """The scales are the standards' five levels each, so the 25 published cells are all the cells."""
    cells = _published_cells()
    assert {(s, li) for s, li, _ in cells} == {(s, li) for s in SEVERITIES for li in LIKELIHOODS}
    assert len(cells) == 25


def test_rating_never_falls_as_severity_or_likelihood_rises():
    """A worse harm or a likelier one never lowers the rating."""
    for s, severity in enumerate(SEVERITIES):
        for li, likelihood in enumerate(LIKELIHOODS):
            if s + 1 < len(SEVERITIES):
                assert risk_rating(SEVERITIES[s + 1], likelihood) >= risk_rating(severity, likelihood)
            if li + 1 < len(LIKELIHOODS):
                assert risk_rating(severity, LIKELIHOODS[li + 1]) >= risk_rating(severity, likelihood)


@pytest.mark.parametrize(("severity", "likelihood"), [("Severe", "Low"), ("Major", "Often"), ("major", "Low")])
def test_risk_rating_rejects_levels_off_the_scales(severity, likelihood):
    """Only the standards' names are levels (no silent case-folding)."""
    with pytest.raises(ValueError, match="unknown"):
        risk_rating(severity, likelihood)


# --- loading ----------------------------------------------------------------------

LOG = """version: 1
hazards:
  - id: missed_red_flag
    title: A red flag is not referred
    cause: Numbness is answered yes but no referral is given.
    effect: Self-care instead of a clinician.
    harm: A serious cause is found late.
    initial: {severity: Major, likelihood: Medium}
    residual: {severity: Major, likelihood: Low}
    controls:
      - rule: refer
      - invariant: red_flag_refers
      - withholds: {item: painkiller, rule: no_painkiller_on_anticoagulants}
      - process: a clinician reviews the rules
    tests: [numbness_is_referred]
    status: open
    gaps: Only numbness and fever are red flags here.
    sources: [test_source]
"""

CASE = """version: 1
id: numbness_is_referred
title: Numbness is referred
basis: The mini base refers every red flag.
case: {numbness: true}
expect:
  triage: urgent
  recommend: [see_doctor]
"""


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    """The mini base with a one-hazard log and the clinical case it names."""
    root = tmp_path / "kb"
    shutil.copytree(MINI, root)
    (root / "knowledge" / "hazards.yaml").write_text(LOG)
    (root / "knowledge" / "cases").mkdir()
    (root / "knowledge" / "cases" / "numbness.yaml").write_text(CASE)
    return root


def _load(kb_dir: Path):
    return load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)  # written here, never sealed


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` once; the 1-based line where the change starts."""
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def test_the_log_loads_typed_with_its_cases(kb_dir):
    """Every field is read; ratings are computed; the named case is kept for the checks."""
    kb = _load(kb_dir)
    (hazard,) = kb.hazards.hazards
    assert hazard.id == "missed_red_flag"
    assert (hazard.initial.rating, hazard.residual.rating) == (3, 3)
    assert [c.describe() for c in hazard.controls] == [
        "rule refer",
        "invariant red_flag_refers",
        "withholds painkiller (rule no_painkiller_on_anticoagulants)",
        "process: a clinician reviews the rules",
    ]
    assert [c.checkable for c in hazard.controls] == [True, True, True, False]
    assert hazard.tests == ("numbness_is_referred",)
    assert hazard.location.endswith("hazards.yaml:3")
    assert set(kb.hazards.cases) == {"numbness_is_referred"}
    assert kb.hazards.rules_named() == {"refer", "no_painkiller_on_anticoagulants"}


def test_the_log_is_part_of_the_digest(kb_dir):
    """Editing the hazard log changes the knowledge base's digest."""
    before = _load(kb_dir).digest
    _edit(kb_dir / "knowledge" / "hazards.yaml", "title: A red flag", "title: Any red flag")
    assert _load(kb_dir).digest != before


BROKEN = [
    ("- rule: refer", "- rule: refr", "hazard 'missed_red_flag': unknown rule 'refr' (did you mean 'refer'?)"),
    (
        "- invariant: red_flag_refers",
        "- invariant: red_flag_refer",
        "unknown invariant 'red_flag_refer' (did you mean 'red_flag_refers'?)",
    ),
    (
        "tests: [numbness_is_referred]",
        "tests: [numbness_is_refered]",
        "unknown clinical case 'numbness_is_refered' (did you mean 'numbness_is_referred'?)",
    ),
    ("sources: [test_source]", "sources: [test_sourc]", "unknown source 'test_sourc' (did you mean 'test_source'?)"),
    ("{item: painkiller,", "{item: painkillr,", "unknown recommendation 'painkillr' (did you mean 'painkiller'?)"),
    ("{item: painkiller,", "{item: rest,", "rule 'no_painkiller_on_anticoagulants' does not withhold 'rest'"),
    (
        "rule: no_painkiller_on_anticoagulants}",
        "rule: no_painkiller_on_anticoagulant}",
        "unknown rule 'no_painkiller_on_anticoagulant' (did you mean 'no_painkiller_on_anticoagulants'?)",
    ),
    ("- rule: refer", "- rules: refer", "a control is one of rule: ..., invariant: ..., withholds: ..., process: ..."),
    ("- rule: refer", "- rule: [refer]", "'rule' takes an id"),
    (
        "initial: {severity: Major, likelihood: Medium}",
        "initial: {severity: Major, likelihood: Medium, rating: 3}",
        "'initial.rating': the risk rating is computed from severity and likelihood",
    ),
    (
        "residual: {severity: Major, likelihood: Low}",
        "residual: {severity: Major, likelihood: High}",
        "the residual risk (Major x High) is above the initial risk (Major x Medium)",
    ),
    ("likelihood: Low}", "likelihood: low}", "residual 'likelihood' must be one of Very low, Low,"),
    ("{severity: Major, likelihood: Medium}", "{severity: Serious, likelihood: Medium}", "initial 'severity'"),
    ("status: open", "status: done", "the 'status' must be one of open, controlled, closed"),
    ("    gaps: Only", "    gap: Only", "unknown key 'gap' in a hazard (did you mean 'gaps'?)"),
    ("    tests: [numbness_is_referred]", "    tests: [numbness_is_referred, numbness_is_referred]", "listed twice"),
    ("  - id: missed_red_flag", "  - id: Missed-Red-Flag", "'id' must be a snake_case identifier"),
]


@pytest.mark.parametrize(("old", "new", "message"), BROKEN, ids=[b[2][:48] for b in BROKEN])
def test_a_broken_reference_or_field_fails_the_load_naming_file_line_and_hazard(kb_dir, old, new, message):
    """Each bad entry is one KnowledgeBaseError with the file, the line of the entry and what is wrong."""
    path = kb_dir / "knowledge" / "hazards.yaml"
    line = _edit(path, old, new)
    with pytest.raises(KnowledgeBaseError) as caught:
        _load(kb_dir)
    error = caught.value
    assert message in str(error)
    assert error.path is not None
    assert error.path.endswith("hazards.yaml")
    assert error.line == line
    assert "\n" not in str(error)


def test_a_missing_field_is_located_at_its_hazard(kb_dir):
    """A hazard without its harm is named, with the line where the hazard starts."""
    _edit(kb_dir / "knowledge" / "hazards.yaml", "    harm: A serious cause is found late.\n", "")
    with pytest.raises(
        KnowledgeBaseError, match=r"hazards.yaml:3: hazard 'missed_red_flag': a hazard is missing 'harm'"
    ):
        _load(kb_dir)


def test_controlled_with_a_rating_of_four_fails_the_load(kb_dir):
    """A hazard whose residual rating needs further control cannot be called controlled."""
    path = kb_dir / "knowledge" / "hazards.yaml"
    _edit(path, "{severity: Major, likelihood: Medium}", "{severity: Catastrophic, likelihood: Medium}")
    _edit(path, "{severity: Major, likelihood: Low}", "{severity: Catastrophic, likelihood: Low}")
    _edit(path, "status: open", "status: controlled")
    with pytest.raises(KnowledgeBaseError, match=r"status 'controlled' with residual risk 4 \(Catastrophic x Low\)"):
        _load(kb_dir)


def test_a_missing_hazard_log_fails_closed(kb_dir):
    """Without hazards.yaml the knowledge base does not load."""
    (kb_dir / "knowledge" / "hazards.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"hazards\.yaml: missing file"):
        _load(kb_dir)


def test_an_empty_hazard_log_loads(kb_dir):
    """An empty list is a valid (if worrying) log; rules verify warns about it."""
    (kb_dir / "knowledge" / "hazards.yaml").write_text("version: 1\nhazards: []\n")
    assert _load(kb_dir).hazards.hazards == ()


def test_a_named_case_needs_a_cases_folder(kb_dir):
    """A test case named when the knowledge folder has no cases is an unknown case, and says why."""
    shutil.rmtree(kb_dir / "knowledge" / "cases")
    with pytest.raises(KnowledgeBaseError, match=r"unknown clinical case 'numbness_is_referred' \(.*holds no case"):
        _load(kb_dir)


def test_two_case_files_with_one_id_fail_the_load(kb_dir):
    """Which case a hazard names must be unambiguous."""
    (kb_dir / "knowledge" / "cases" / "copy.yaml").write_text(CASE)
    with pytest.raises(KnowledgeBaseError, match="clinical case id 'numbness_is_referred' is also used by"):
        _load(kb_dir)


def test_a_duplicate_hazard_id_fails_the_load(kb_dir):
    """Hazard ids are unique."""
    path = kb_dir / "knowledge" / "hazards.yaml"
    entry = LOG.split("hazards:\n", 1)[1]
    path.write_text(LOG + entry)
    with pytest.raises(KnowledgeBaseError, match=r"hazard 'missed_red_flag': duplicate hazard id \(first defined at"):
        _load(kb_dir)


def test_deleting_a_rule_the_log_names_fails_the_load(kb_dir):
    """The log holds its controls in place: removing the referral rule is a load error naming it."""
    rules = kb_dir / "rules" / "main.yaml"
    text = rules.read_text()
    start = text.index("  - id: refer\n")
    end = text.index("  - id: self_care\n")
    rules.write_text(text[:start] + text[end:])
    with pytest.raises(KnowledgeBaseError, match="unknown rule 'refer'"):
        _load(kb_dir)


def test_deleting_the_rule_behind_an_invariant_fails_the_load(kb_dir):
    """An invariant reading a finding that no rule derives any more stops the load, not only rules verify."""
    rules = kb_dir / "rules" / "main.yaml"
    rules.write_text(
        rules.read_text()
        + "  - id: label_numbness\n    title: Label\n    when: numbness\n    then:\n      - derive: numb\n"
        "    because: A label.\n    sources: [test_source]\n"
    )
    with (kb_dir / "knowledge" / "invariants.yaml").open("a") as handle:
        handle.write('  - id: numb_refers\n    title: Numb refers\n    given: numb\n    require: "triage >= urgent"\n')
    assert _load(kb_dir).rule_index["label_numbness"]
    text = rules.read_text()
    rules.write_text(text[: text.index("  - id: label_numbness\n")])
    with pytest.raises(
        KnowledgeBaseError, match=r"invariants\.yaml:\d+: invariant 'numb_refers': unknown fact or finding 'numb'"
    ):
        _load(kb_dir)
