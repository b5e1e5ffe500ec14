"""The two voices of the knowledge base: what the person reads, checked; what the clinician reads, kept apart."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import KnowledgeBaseError, load_knowledge_base
from spasm_advisor.errors import UnknownRegionError
from spasm_advisor.kb.evidence import STRENGTHS, sources_disagree, strength
from spasm_advisor.kb.model import Evidence
from spasm_advisor.kb.person_text import (
    LOCAL_NUMBER,
    emergency_phrase,
    fill,
    person_texts,
    resolve_region,
    reviewer_vocabulary,
)

MINI = DATA / "mini"

REGIONS = """version: 1
default: uk
regions:
  - {id: uk, name: United Kingdom, emergency_number: "999"}
  - {id: us, name: United States, emergency_number: "911"}
"""


@pytest.fixture(scope="module", name="kb")
def _kb(advisor):
    return advisor.knowledge_base


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "kb")
    return tmp_path / "kb"


def _load(kb_dir: Path):
    return load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)  # edited here, never sealed


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


# --- reviewer vocabulary ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Keep active. [unverified]", "[unverified]"),
        ("Consider exercise (number recalled).", "recalled"),
        ("The seed article suggests heat.", "seed article"),
        ("Do not use after an allergic reaction (OTC label).", "(OTC label)"),
        ("Only alongside exercise (NICE NG59 1.2.7).", "(NICE NG59 1.2.7)"),
        ("Avoid from 20 weeks (FDA 2020).", "(FDA 2020)"),
        ("Avoid with an allergy (secondary).", "secondary"),
        ("Stop if it spreads (convention, unverified).", "convention"),
        ("Given by rule self_care_core.", "self_care_core"),
        ("See nice_ng59 for more.", "nice_ng59"),
        ("Added fact. Weakness that is getting worse quickly.", "Added fact"),
    ],
)
def test_reviewer_vocabulary_is_found(text, found):
    """Verification notes, citations in brackets and identifiers are found in a text."""
    assert found in reviewer_vocabulary(text)


@pytest.mark.parametrize(
    "text",
    [
        "Keep as active as the pain allows and carry on with your usual activities.",
        "Call {emergency_number} or go to an emergency department straight away.",
        "Call 999 (or your local emergency number) if you cannot get there safely.",
        "Signs of stomach bleeding (black or bloody poo, vomiting blood, feeling faint).",
        "Follow the label, take the lowest dose that works for the shortest time.",
        "Guidelines disagree about acupuncture. NICE (UK) advises that it should not be offered.",
        "Stop and ask a doctor if the pain lasts more than 10 days.",
    ],
)
def test_plain_text_is_not_flagged(text):
    """Plain advice, placeholders, brackets that explain and named guideline bodies are the person's words."""
    assert reviewer_vocabulary(text) == []


def test_rule_and_source_ids_of_a_base_are_found_in_any_form(mini):
    """With a knowledge base, its rule and source ids are found even without an underscore."""
    assert "flag" in reviewer_vocabulary("Given by flag.", mini.knowledge_base)
    assert reviewer_vocabulary("Given by flag.") == []


def test_bundled_person_facing_text_has_no_reviewer_vocabulary(kb):
    """Every question, help text, title, advice, caution, withhold reason and caution message is plain."""
    texts = person_texts(kb)
    assert len(texts) > 100
    problems = [f"{where}: {found}" for where, text in texts if (found := reviewer_vocabulary(text, kb))]
    assert problems == []


def test_a_description_shown_as_help_is_person_facing(mini):
    """A fact without help text is explained with its description, so the description is checked as the person's."""
    kb = mini.knowledge_base
    texts = dict((where, text) for where, text in person_texts(kb))
    shown = [where for where in texts if "description (shown as help)" in where]
    assert shown
    assert all(kb.facts[fid].help is None for fid in kb.facts if f"fact '{fid}' description" in " ".join(shown))


def test_edit_history_of_facts_is_kept_out_of_their_descriptions(kb):
    """'Added fact.' notes live in the fact's provenance history, not in the description or help."""
    for fact in kb.facts.values():
        for text in (fact.description, fact.help or ""):
            assert "added fact" not in text.lower(), fact.id
    assert kb.facts["gait_disturbance"].history == "Added in release 2026.12.0."


def test_reviewer_notes_moved_to_the_clinician_voice(kb):
    """What was cut from the person's cautions is kept for the clinician, caution by caution."""
    nsaid = kb.recommendations["nsaid_pain_relief"]
    assert len(nsaid.caution_because) == len(nsaid.cautions)
    assert any(note and "OTC ibuprofen label" in note for note in nsaid.caution_because)
    assert nsaid.because
    assert "QS155" in nsaid.because
    notes = [n for r in kb.recommendations.values() for n in r.caution_because if n]
    assert any("unverified" in n for n in notes)


# --- lay help texts ---------------------------------------------------------------

# Clinical words a person should not have to know (the clinical description may use them).
JARGON = re.compile(
    r"bilateral|sciatica|radicul|cauda equina|paraesthesia|perineal|anticoagulant|NSAID|immunosuppress"
    r"|haematoma|incontinence|retention|rigors|malignan|neurolog|corticosteroid|analgesic",
    re.IGNORECASE,
)


def _syllables(word: str) -> int:
    letters = re.sub(r"[^a-z]", "", word.lower())
    count = len(re.findall(r"[aeiouy]+", letters))
    if letters.endswith("e") and not letters.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def _grade(text: str) -> float:
    """Flesch-Kincaid grade level: 6-7 is a reading age of about 11-12."""
    sentences = max(1, len(re.findall(r"[.!?](?:\s|$)", text)))
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    return 0.39 * len(words) / sentences + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59


def test_every_question_has_lay_help_in_plain_words(kb):
    """Each question has a help text: no clinical jargon, short sentences, not the clinical description."""
    missing = [f.id for f in kb.facts.values() if not f.help]
    assert missing == [], f"facts without a lay 'help' text in facts.yaml: {missing}"
    for fact in kb.facts.values():
        assert fact.help != fact.description
        assert not JARGON.search(fact.help or ""), (fact.id, JARGON.search(fact.help or ""))
        # Drug names and "osteoporosis" carry many syllables; a sentence a clinician would write does too.
        assert _grade(fact.help or "") <= 12, (fact.id, round(_grade(fact.help or ""), 1))
    grades = [_grade(f.help or "") for f in kb.facts.values()]
    assert sum(grades) / len(grades) <= 7.5


def test_help_and_natural_answers_load(kb_dir):
    """A fact's help and natural answers load (quoted: YAML would read a bare yes as true)."""
    _edit(
        kb_dir / "knowledge" / "facts.yaml",
        '    question: "Posture?"',
        '    question: "Do you slouch?"\n    help: "Answer yes if you slouch."\n    answers: {"yes": poor, "No": good}',
    )
    posture = _load(kb_dir).facts["posture"]
    assert posture.help == "Answer yes if you slouch."
    assert posture.answers == (("yes", "poor"), ("no", "good"))


@pytest.mark.parametrize(
    ("file", "old", "new", "fragment"),
    [
        (
            "knowledge/facts.yaml",
            '    question: "Posture?"',
            '    question: "Posture?"\n    answers: {"yes": slumped}',
            "maps to 'slumped', which is not one of good, poor",
        ),
        (
            "knowledge/facts.yaml",
            '    question: "Fever?"',
            '    question: "Fever?"\n    answers: {"yes": "true"}',
            "'answers' applies only to enum facts",
        ),
        (
            "knowledge/facts.yaml",
            '    question: "Posture?"',
            '    question: "Posture?"\n    answers: {back: poor}',
            "'back' cannot be a reply",
        ),
        (
            "knowledge/recommendations.yaml",
            "advice: Go.",
            "advice: Call {emergency_numbr}.",
            "unknown placeholder '{emergency_numbr}' in 'advice' (person-facing text may use {emergency_number})",
        ),
        (
            "knowledge/recommendations.yaml",
            'cautions: ["Not with blood thinners."]',
            'cautions: [{text: "Not with blood thinners.", becuase: "Label."}]',
            "unknown key 'becuase' in a caution",
        ),
        (
            "knowledge/recommendations.yaml",
            "advice: Go.",
            "advice: Go.\n    safety_net: true",
            None,  # one safety net is fine; the test adds a second one below
        ),
        (
            "rules/main.yaml",
            "reason: Bleeding risk.",
            "reason: Bleeding risk {here}.",
            "unknown placeholder '{here}' in 'reason'",
        ),
        (
            "knowledge/recommendations.yaml",
            "    title: Painkiller\n",
            "    title: Painkiller\n    withheld_title: [Whether, to take one]\n",
            "'withheld_title' must be text",
        ),
        (
            "knowledge/recommendations.yaml",
            "    title: Painkiller\n",
            "    title: Painkiller\n    withheld_title: Whether to call {emergency}\n",
            "unknown placeholder '{emergency}' in 'withheld_title'",
        ),
    ],
)
def test_broken_person_text_is_named(kb_dir, file, old, new, fragment):
    """A wrong natural answer, placeholder, caution key or second safety net: one error naming the file."""
    _edit(kb_dir / file, old, new)
    if fragment is None:
        _load(kb_dir)
        with (kb_dir / file).open("a") as handle:
            handle.write(
                "  - id: also_net\n    category: relief\n    title: Net\n    advice: Help.\n"
                "    safety_net: true\n    evidence: []\n    sources: [test_source]\n"
            )
        fragment = "only one entry may be the safety net"
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb_dir)
    assert fragment in str(info.value)
    assert info.value.path.endswith(file)
    assert info.value.line is not None


@pytest.mark.parametrize(
    ("file", "old", "new", "entry", "text", "where"),
    [
        (
            "recommendations.yaml",
            "    title: Painkiller\n",
            "    title: Painkiller\n    withheld_title: Whether a painkiller is safe (convention)\n",
            lambda kb: (kb.recommendations["painkiller"].withheld_title, kb.recommendations["rest"].withheld_title),
            "Whether a painkiller is safe (convention)",
            "withheld title",
        ),
        (
            "facts.yaml",
            '    question: "Fever?"',
            '    question: "Fever?"\n    child_question: "Does the child have a fever (convention)?"',
            lambda kb: (kb.facts["fever"].child_question, kb.facts["numbness"].child_question),
            "Does the child have a fever (convention)?",
            "child question",
        ),
    ],
)
def test_optional_person_texts_load_and_are_checked(kb_dir, file, old, new, entry, text, where):
    """A withheld title or a child question loads, is None where absent, and is checked as the person's text."""
    _edit(kb_dir / "knowledge" / file, old, new)
    kb = _load(kb_dir)
    assert entry(kb) == (text, None)
    (found,) = [found for at, found in person_texts(kb) if at.endswith(where)]
    assert "convention" in reviewer_vocabulary(found)


def test_caution_with_a_clinician_note(kb_dir):
    """A caution may carry a 'because' for the clinician; the person's text stays as written."""
    _edit(
        kb_dir / "knowledge" / "recommendations.yaml",
        'cautions: ["Not with blood thinners."]',
        'cautions: [{text: "Not with blood thinners.", because: "Label, section 2."}, "Take with food."]',
    )
    painkiller = _load(kb_dir).recommendations["painkiller"]
    assert painkiller.cautions == ("Not with blood thinners.", "Take with food.")
    assert painkiller.caution_because == ("Label, section 2.", None)


# --- regions and the emergency number ---------------------------------------------


def test_without_regions_the_text_says_local_number(mini):
    """A base without regions.yaml fills in 'your local emergency number' and knows no region."""
    kb = mini.knowledge_base
    assert kb.regions == {}
    assert resolve_region(kb, None) is None
    assert fill("Call {emergency_number}.", None) == f"Call {LOCAL_NUMBER}."
    with pytest.raises(UnknownRegionError):
        resolve_region(kb, "uk")


def test_regions_load_with_a_default(kb_dir):
    """regions.yaml names each region's number and the default; the number always comes with 'or local'."""
    (kb_dir / "knowledge" / "regions.yaml").write_text(REGIONS)
    kb = _load(kb_dir)
    assert kb.default_region == "uk"
    assert emergency_phrase(resolve_region(kb, None)) == "999 (or your local emergency number)"
    assert emergency_phrase(resolve_region(kb, "US")) == "911 (or your local emergency number)"
    with pytest.raises(UnknownRegionError, match=r"unknown region 'fr' \(this knowledge base knows: uk, us\)"):
        resolve_region(kb, "fr")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("default: uk", "default: fr", "'default' must be one of uk, us"),
        ('emergency_number: "911"', 'emergency_number: "call us"', "must be a telephone number"),
        ("id: us,", "id: uk,", "duplicate region id 'uk'"),
    ],
)
def test_broken_regions_are_named(kb_dir, old, new, fragment):
    """A wrong default, a number that is not one, or a duplicate: one error naming regions.yaml."""
    (kb_dir / "knowledge" / "regions.yaml").write_text(REGIONS.replace(old, new))
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb_dir)
    assert fragment in str(info.value)
    assert info.value.path.endswith("regions.yaml")


def test_region_fills_the_assessment(advisor):
    """The region chosen for an assessment is in its advice, and recorded on it."""
    default = advisor.assess({"saddle_anaesthesia": True})
    us = advisor.assess({"saddle_anaesthesia": True}, region="us")
    assert default.region == "uk"
    assert us.region == "us"
    assert "999 (or your local emergency number)" in default.recommendations[0].advice
    assert "911 (or your local emergency number)" in us.recommendations[0].advice
    assert "{emergency_number}" not in us.to_json()
    with pytest.raises(UnknownRegionError):
        advisor.assess({}, region="atlantis")


# --- evidence strength --------------------------------------------------------------


def _ev(*pairs: tuple[str, str, bool]) -> tuple[Evidence, ...]:
    return tuple(Evidence(source=s, level=level, verified=v) for s, level, v in pairs)


@pytest.mark.parametrize(
    ("evidence", "word"),
    [
        (_ev(("a", "recommended", True)), "good evidence"),
        (_ev(("a", "recommended", False)), "some evidence"),
        (_ev(("a", "weak", True), ("b", "insufficient", True)), "some evidence"),
        (_ev(("a", "insufficient", True)), "little evidence"),
        ((), "little evidence"),
        (_ev(("a", "recommended", True), ("b", "not_recommended", True)), "guidelines disagree"),
        (_ev(("a", "recommended", True), ("k", "conflicting", False)), "guidelines disagree"),
        (_ev(("a", "weak", True), ("a", "not_recommended", True)), "some evidence"),
        (_ev(("a", "not_recommended", True)), "advised against"),
    ],
)
def test_strength_in_one_phrase(evidence, word):
    """One plain phrase from the grades: agreement, verification and the best grade decide it."""
    assert strength(evidence) == word
    assert word in STRENGTHS


def test_strength_agrees_with_the_audit_on_disagreement(kb):
    """'guidelines disagree' exactly where the audit report shows a conflict (one definition)."""
    acupuncture = kb.recommendations["acupuncture"].evidence
    assert sources_disagree(acupuncture)
    assert strength(acupuncture) == "guidelines disagree"
    assert strength(kb.recommendations["heat_therapy"].evidence) == "good evidence"
    assert strength(kb.recommendations["hydration"].evidence) == "little evidence"
