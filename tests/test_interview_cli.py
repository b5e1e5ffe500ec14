"""spasm-advisor interview, driven as a person would: through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cli_runner import run, script

from spasm_advisor.io.interview import BOOLEAN_REASK

pexpect = pytest.importorskip("pexpect")

QUESTION = re.compile(r"Question (\d+) \((\d+) left at most\): ")
PROMPT = r"\] > "


def spawn(*args: str, cwd: Path | None = None, colour: bool = False):
    """Start the installed program on an 80-column pseudo-terminal (as wide as a pipe's output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    if not colour:
        env["NO_COLOR"] = "1"
    child = pexpect.spawn(
        script(), ["interview", *args], encoding="utf-8", timeout=30, dimensions=(60, 80), cwd=cwd, env=env
    )
    child.delaybeforesend = None
    return child


def finish(child) -> tuple[str, int | None]:
    """Read to the end; return everything printed since the last expect and the exit status."""
    child.expect(pexpect.EOF)
    rest = child.before
    child.close()
    return rest, child.exitstatus


def question_text(child) -> str:
    """After a QUESTION match, read to the prompt; return the question (wrapped lines joined)."""
    child.expect(PROMPT)
    text = child.before.rsplit("\r\n", 1)[0]  # the line before the prompt holds the answer hint
    return " ".join(text.split())


def next_question(child) -> tuple[int, int, str]:
    """Wait for the next question and its prompt; return its number, how many are left and its text."""
    child.expect(QUESTION)
    number, left = int(child.match.group(1)), int(child.match.group(2))
    return number, left, question_text(child)


@pytest.fixture(scope="module", name="questions")
def _questions(advisor):
    """Question text -> fact, for the bundled knowledge base (facts recording a "don't know" are not asked)."""
    return {spec.question: spec for spec in advisor.knowledge_base.facts.values() if spec.dont_know_for is None}


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_ces_answer_stops_early_with_emergency_first(questions):
    """A yes to the first question (a CES sign) stops the interview and shows the emergency advice and why."""
    child = spawn()
    number, left, text = next_question(child)
    assert number == 1
    assert questions[text].id in {
        "saddle_anaesthesia",
        "bladder_or_bowel_dysfunction",
        "bilateral_leg_symptoms",
    }
    assert left == len(questions)
    child.sendline("yes")
    child.expect("Your answers call for emergency care, so the questions stop here.")
    child.expect("EMERGENCY: go to an emergency department now")
    rest, status = finish(child)
    assert status == 0
    assert "Question 2" not in rest
    words = " ".join(rest.split())  # the report is wrapped to the terminal
    assert f'This is because of your answer to "{text}" (yes).' in words  # the question, not a fact id
    assert "What to do now" in words
    assert "Tell the staff which warning signs you have" in words  # the emergency referral's advice


def test_benign_case_to_the_end_and_saved_case_reproduces_report(tmp_path, questions):
    """A benign interview runs to the end, skips what cannot matter, and --save gives back the same report."""
    plan = {
        "age": "35",
        "duration_days": "3",
        "pain_severity": "4",
        "posture": "poor",
        "muscle_tightness": "yes",
    }
    saved = tmp_path / "answers.yaml"
    child = spawn("--save", str(saved))
    asked, lefts = [], []
    while True:
        index = child.expect([QUESTION, "That was the last question. Here is your report."])
        if index == 1:
            break
        number, left = int(child.match.group(1)), int(child.match.group(2))
        spec = questions[question_text(child)]
        assert number == len(asked) + 1
        asked.append(spec.id)
        lefts.append(left)
        child.sendline(plan.get(spec.id, "no" if spec.type == "boolean" else "dk"))
    rest, status = finish(child)
    assert status == 0
    assert "EMERGENCY" not in rest
    assert lefts == sorted(lefts, reverse=True)
    assert len(asked) < len(questions)  # some questions were skipped
    assert lefts[-1] == 1
    assert f"Answers saved to {saved}" in rest
    # How to see the details without answering every question again.
    assert f"spasm-advisor assess {saved} --details" in rest
    report = _normalise(rest.split("\r\nAnswers saved to")[0])
    assert report.lstrip().startswith("SELF-CARE: ")
    assert "\x1b[" not in report  # NO_COLOR
    again = subprocess.run([script(), "assess", str(saved)], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == report.strip()
    text = saved.read_text()
    assert "age: 35" in text
    assert "posture: poor" in text


def test_invalid_answers_are_explained_and_asked_again(questions):
    """Wrong answers (text for yes/no, words or out-of-range numbers) are explained; the question repeats."""
    child = spawn()
    _, _, text = next_question(child)
    child.sendline("maybe")
    child.expect(re.escape(BOOLEAN_REASK))
    child.expect(PROMPT)
    child.sendline("")
    child.expect("Please type an answer")
    child.expect(PROMPT)
    child.sendline("help")
    # The first question is a cauda equina sign, whose "don't know" is recorded.
    child.expect("'don't know' \\(or dk, \\?, skip\\)( is recorded|: that leaves it unknown)")
    child.expect(PROMPT)
    # Answer no to every red flag until the first number question.
    spec = questions[text]
    while spec.type != "integer":
        child.sendline("no")
        _, _, text = next_question(child)
        spec = questions[text]
    child.sendline("forty")
    child.expect("'forty' is not a whole number")
    child.expect(PROMPT)
    child.sendline(str((spec.maximum or 10_000_000) + 1))
    child.expect("is above the maximum")
    child.expect(PROMPT)
    child.sendline("-3")
    child.expect("is below the minimum")
    child.expect(PROMPT)
    child.sendline("dk")
    _, _, after = next_question(child)
    assert questions[after].id != spec.id
    child.sendintr()
    _, status = finish(child)
    assert status == 130


def test_back_revisits_the_previous_question(questions):
    """'back' asks the previous question again, and the new answer replaces the old one."""
    child = spawn()
    _, _, first = next_question(child)
    child.sendline("back")
    child.expect("This is the first question: there is nothing to go back to.")
    child.expect(QUESTION)
    assert question_text(child) == first
    child.sendline("no")
    number, _, second = next_question(child)
    assert number == 2
    assert second != first
    child.sendline("back")
    number, _, again = next_question(child)
    assert (number, again) == (1, first)
    child.sendline("yes")  # a CES sign: the changed answer now stops the interview
    child.expect("EMERGENCY")
    _, status = finish(child)
    assert status == 0


def test_ctrl_c_leaves_cleanly_with_130(tmp_path):
    """Ctrl-C leaves with a short message and exit 130, no traceback; --save keeps the answers so far."""
    saved = tmp_path / "partial.yaml"
    child = spawn("--save", str(saved))
    next_question(child)
    child.sendline("no")
    next_question(child)
    child.sendintr()
    rest, status = finish(child)
    assert status == 130
    assert "interrupted: no report" in rest
    assert "Traceback" not in rest
    assert "the answer so far is saved in" in rest
    assert "was not finished" in saved.read_text()
    assert saved.read_text().rstrip().endswith(": false")


def test_end_of_input_leaves_cleanly_with_1():
    """End of input (Ctrl-D) leaves with a short message and exit 1, no traceback."""
    child = spawn()
    next_question(child)
    child.sendeof()
    rest, status = finish(child)
    assert status == 1
    assert "end of input before the interview finished: no report" in rest
    assert "Traceback" not in rest


def test_garbage_bytes_are_a_wrong_answer():
    """Bytes that are not UTF-8 are treated as a wrong answer, not a crash."""
    child = spawn()
    next_question(child)
    child.send(b"\xff\xfe\x80garbage\r".decode("latin-1"))
    child.expect(re.escape(BOOLEAN_REASK))
    child.expect(PROMPT)
    child.sendeof()
    _, status = finish(child)
    assert status == 1


def test_save_target_checked_before_any_question(tmp_path):
    """An unwritable --save path is refused at once (exit 2), so no answers are typed in vain."""
    child = spawn("--save", str(tmp_path / "missing" / "case.yaml"))
    rest, status = finish(child)
    assert status == 2
    assert "does not exist" in rest
    assert "Question" not in rest


def test_progress_parts_natural_answers_and_colour(questions):
    """Each part of the interview is announced; yes answers a choice question; a terminal gets colour."""
    child = spawn(colour=True)
    child.expect(r"Part 1 of 4: warning signs")
    _, _, text = next_question(child)
    assert questions[text].is_red_flag
    while questions[text].id != "posture":
        spec = questions[text]
        reply = {"age": "35", "duration_days": "3", "pain_severity": "4"}.get(spec.id)
        child.sendline(reply or ("no" if spec.type == "boolean" else "dk"))
        _, _, text = next_question(child)
    assert "[yes / no / don't know]" in child.before + child.after
    child.sendline("yes")  # "Do you spend long periods slouched...?": yes means poor
    _, _, text = next_question(child)
    assert questions[text].id != "posture"
    child.sendintr()
    _, status = finish(child)
    assert status == 130


def test_colour_on_a_terminal_and_never_with_no_color():
    """The emergency headline is bold red on a terminal, and plain with NO_COLOR set."""
    for colour in (True, False):
        child = spawn(colour=colour)
        next_question(child)
        child.sendline("yes")
        rest, status = finish(child)
        assert status == 0
        assert ("\x1b[1;31mEMERGENCY" in rest) is colour
        assert ("\x1b[" in rest) is colour


def test_parts_never_start_again_after_follow_up_questions():
    """Follow-ups from later parts are announced as such, and the warning signs go on as 'continued'."""
    # No to the first two cauda equina signs, yes to both legs, no to the rest of the emergency signs,
    # then the follow-ups: not new or worsening, known stenosis; then no to everything.
    answers = ["no", "no", "yes", "no", "no", "no", "no", "yes"] + ["no"] * 60
    out = run("interview", stdin="\n".join(answers) + "\n")
    parts = re.findall(r"^(Part \d of 4[^:]*:.*|Follow-up questions about an earlier answer:)$", out.stdout, re.M)
    assert parts[:3] == [
        "Part 1 of 4: warning signs",
        "Follow-up questions about an earlier answer:",
        "Part 1 of 4, continued: warning signs",
    ]
    numbers = [int(p[5]) for p in parts if p.startswith("Part ")]
    assert numbers == sorted(numbers)
    assert parts.count("Part 1 of 4: warning signs") == 1
