"""The one case reader: a case is read exactly as documented, and every problem says where.

YAML follows the 1.2 core schema, JSON errors name the line and the field,
duplicate keys are refused by every reader, only a mapping is a case, and a
case file must be a regular file. The hostile inputs are fixtures in
tests/data/hostile/cases/.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_runner import run, script

from spasm_advisor import Case, CaseError
from spasm_advisor.io.reader import MAX_CASE_DEPTH, parse_case_text, read_case_file
from spasm_advisor.kb.yamlfile import load_yaml_text

DATA = Path(__file__).parent / "data"
HOSTILE = DATA / "hostile" / "cases"
MINI = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]


def _validated(mini, name: str) -> CaseError:
    with pytest.raises(CaseError) as info:
        Case.from_mapping(read_case_file(HOSTILE / name), mini.knowledge_base)
    return info.value


# --- YAML 1.2 core schema ------------------------------------------------------


def test_sexagesimal_is_text_not_ninety(mini):
    """'age: 1:30' is the text '1:30' (YAML 1.1 would read the valid age 90): an error naming the field."""
    assert read_case_file(HOSTILE / "sexagesimal.yaml") == {"age": "1:30"}
    error = _validated(mini, "sexagesimal.yaml")
    assert error.fields == ("age",)
    assert "age: expected an integer from 0 to 120, got '1:30'" in str(error)


def test_yes_on_off_are_text_not_booleans(mini):
    """yes, on and off are text in YAML 1.2: each yes/no fact given one is named with what it expects."""
    error = _validated(mini, "yes_on_off.yaml")
    assert error.fields == ("numbness", "fever", "on_anticoagulants")
    for name, value in (("numbness", "yes"), ("fever", "on"), ("on_anticoagulants", "off")):
        assert f"{name}: expected true or false, got '{value}'" in str(error)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("012", 12),
        ("0o17", 15),
        ("0x1F", 31),
        ("+7", 7),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        ("", None),
        ("1e3", 1000.0),
        ("2020-01-01", "2020-01-01"),
        ("1_000", "1_000"),
        ("y", "y"),
        ("no", "no"),
        ("<<", "<<"),
        ("=", "="),
    ],
)
def test_case_yaml_is_yaml_1_2(text, value):
    """Plain scalars are typed by the YAML 1.2 core schema, not PyYAML's YAML 1.1 rules."""
    assert parse_case_text(f"x: {text}\n".encode(), "c") == {"x": value}


def test_leading_zero_is_decimal(mini):
    """'age: 012' is twelve (YAML 1.1 would read octal ten)."""
    assert dict(Case.from_mapping(read_case_file(HOSTILE / "leading_zero.yaml"), mini.knowledge_base)) == {"age": 12}


def test_plain_date_is_text(mini):
    """A plain date is text in YAML 1.2, so the integer fact names it as such."""
    assert "age: expected an integer from 0 to 120, got '2020-01-01'" in str(_validated(mini, "plain_date.yaml"))


def test_interview_files_read_back_the_same(mini):
    """What the interview saves reads back to the same answers under the YAML 1.2 reader."""
    from spasm_advisor.io.interview import case_yaml

    answers = {"age": 12, "numbness": True, "fever": False, "posture": "poor", "on_anticoagulants": None}
    read = parse_case_text(case_yaml(answers, mini.knowledge_base).encode(), "saved.yaml")
    assert read == answers


# --- JSON: line and field ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line", "field", "fragment"),
    [
        ("nan.json", 3, "fever", "fever: invalid JSON: NaN is not a valid value"),
        ("infinity.json", 3, "age", "age: invalid JSON: -Infinity is not a valid value"),
        ("long_number.json", 3, "age", "age: invalid JSON: a number with 101 digits is too long"),
        ("deep.json", 2, "posture", f"invalid JSON: nested too deeply (the limit is {MAX_CASE_DEPTH} levels)"),
        ("duplicate_key.json", 4, "age", "age: invalid JSON: duplicate key 'age' (first at line 2)"),
    ],
)
def test_json_errors_name_line_and_field(name, line, field, fragment):
    """NaN, Infinity, 100-digit numbers, over-deep nesting and duplicate keys are named with line and field."""
    with pytest.raises(CaseError) as info:
        read_case_file(HOSTILE / name)
    error = info.value
    assert error.line == line
    assert error.fields[0].split("[")[0] == field
    assert str(error).startswith(f"{HOSTILE / name}:{line}: ")
    assert fragment in str(error)


@pytest.mark.parametrize("inner", ["[{}]", '[{"a": 1}, [2]]', '{"a": [], "b": {"c": 3}}'])
def test_json_nesting_limit_is_exact(inner):
    """A document nested exactly MAX_CASE_DEPTH levels deep is read; one level more is refused."""

    def nested(levels: int) -> str:
        # ``inner`` is 2 levels deep: wrap it in mappings up to ``levels``.
        return '{"x": ' * (levels - 2) + inner + "}" * (levels - 2)

    assert parse_case_text(nested(MAX_CASE_DEPTH), "c.json", syntax="json", mapping=False)
    with pytest.raises(CaseError, match="nested too deeply"):
        parse_case_text(nested(MAX_CASE_DEPTH + 1), "c.json", syntax="json", mapping=False)


def test_json_syntax_error_names_line_column_and_field():
    """A syntax error gives the line, the column and the field it is in."""
    with pytest.raises(CaseError) as info:
        parse_case_text(b'{\n  "age": 40,\n  "fever": tru\n}', "c.json", syntax="json")
    assert info.value.line == 3
    assert str(info.value) == "c.json:3: fever: invalid JSON: Expecting value (column 12)"


def test_json_only_refuses_yaml():
    """syntax='json' (JSON Lines records, a JSON request body) does not fall back to YAML."""
    assert parse_case_text(b"{numbness: true}", "c") == {"numbness": True}
    with pytest.raises(CaseError, match="invalid JSON"):
        parse_case_text(b"{numbness: true}", "c", syntax="json")
    with pytest.raises(CaseError, match="a case must be a mapping"):
        parse_case_text(b"numbness", "c", syntax="yaml")


# --- duplicate keys and mappings ---------------------------------------------------


def test_duplicate_keys_refused_in_yaml():
    """The second 'age' is not silently the value."""
    with pytest.raises(CaseError) as info:
        read_case_file(HOSTILE / "duplicate_key.yaml")
    assert info.value.line == 3
    assert "duplicate key 'age'" in str(info.value)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("list.yaml", "a list (['numbness', 'fever'])"), ("scalar.json", "a number (42)")],
)
def test_a_case_must_be_a_mapping(name, kind):
    """A list or a scalar is refused in words, not with a Python type name."""
    with pytest.raises(CaseError) as info:
        read_case_file(HOSTILE / name)
    assert str(info.value) == f"{HOSTILE / name}: a case must be a mapping of fact names to values, not {kind}"


def test_validation_names_kinds_in_words(mini):
    """Validating a non-mapping (here a list as the YAML loader builds it) says what it is in words."""
    located_list = load_yaml_text("- x\n", "c.yaml")
    with pytest.raises(CaseError) as info:
        Case.from_mapping(located_list, mini.knowledge_base)
    assert str(info.value) == "a case must be a mapping of fact names to values, not a list"


# --- files ---------------------------------------------------------------------


def test_empty_path_and_missing_file_are_named(tmp_path):
    """An empty path and a missing file are errors that say so."""
    with pytest.raises(CaseError, match="the case file path is empty: give a case file, or '-'"):
        read_case_file("")
    with pytest.raises(CaseError) as info:
        read_case_file(tmp_path / "missing.json")
    assert str(info.value) == f"{tmp_path / 'missing.json'}: cannot read case file: no such file"
    with pytest.raises(CaseError, match="empty input"):
        read_case_file(HOSTILE / "empty.yaml")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_refused_without_blocking(tmp_path):
    """A FIFO as case file is refused at once (no writer is ever attached); '-' still reads stdin."""
    fifo = tmp_path / "case.fifo"
    os.mkfifo(fifo)
    # The timeout only keeps a regression from hanging the suite: it is not what is tested.
    proc = subprocess.run([script(), "assess", str(fifo), *MINI], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"spasm-advisor: error: {fifo}: cannot read case file: it is a FIFO (named pipe), not a regular file "
        "(give a case file, or '-' to read standard input)\n"
    )
    piped = run("assess", "-", *MINI, stdin='{"numbness": true}')
    assert piped.returncode == 0, piped.stderr


def test_folder_and_device_refused(tmp_path):
    """A folder or a character device is not a case file."""
    with pytest.raises(CaseError, match="it is a folder, not a regular file"):
        read_case_file(tmp_path)
    if Path("/dev/null").exists():
        with pytest.raises(CaseError, match="it is a character device, not a regular file"):
            read_case_file("/dev/null")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("sexagesimal.yaml", "age: expected an integer from 0 to 120, got '1:30'"),
        ("nan.json", "nan.json:3: fever: invalid JSON: NaN is not a valid value"),
        ("list.yaml", "a case must be a mapping of fact names to values, not a list"),
        ("duplicate_key.json", "duplicate key 'age'"),
    ],
)
@pytest.mark.parametrize("command", ["assess", "explain"])
def test_cli_reports_reader_errors_in_one_line(command, name, fragment):
    """assess and explain read the case with the same reader: exit 2, one line, no traceback."""
    out = run(command, str(HOSTILE / name), *MINI)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("spasm-advisor: error: ")
    assert fragment in out.stderr
    assert len(out.stderr.splitlines()) == 1


def test_why_not_reads_with_the_same_reader():
    """why-not refuses the same inputs the same way."""
    out = run("why-not", str(HOSTILE / "yes_on_off.yaml"), "painkiller", *MINI)
    assert out.returncode == 2
    assert "numbness: expected true or false, got 'yes'" in out.stderr
