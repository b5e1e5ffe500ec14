"""Hostile input: broken knowledge bases and garbage cases are refused with our own errors, with bounded work.

Deterministic cases name the file and line (knowledge base) or the field,
value and expectation (case); Hypothesis fuzzes the case reader, the case
validator, the command line and the knowledge-base loader and asserts that
only our own error types ever escape.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml
from bounds import bytes_read_at_most, calls_at_most
from cli_runner import is_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spasm_advisor import Advisor, Case, CaseError, KnowledgeBaseError, cli, load_knowledge_base
from spasm_advisor.errors import MAX_LISTED_PROBLEMS
from spasm_advisor.inference.compiler import compile_knowledge_base
from spasm_advisor.io.reader import MAX_CASE_BYTES, parse_case_text, read_case_file
from spasm_advisor.kb.yamlfile import MAX_FILE_BYTES, MAX_NODES, load_yaml_text

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
MINI = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]

# Fewer examples for the slow fuzzers, scaled with the active profile.
FEW = max(10, settings.default.max_examples // 4)


def run_cli(args: list[str], stdin: bytes) -> tuple[int, str, str]:
    """Run the command line in-process with ``stdin`` as raw bytes; return (code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = cli.sys.stdin
    cli.sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(args)
    finally:
        cli.sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


# --- knowledge-base files ----------------------------------------------------


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "mini", tmp_path / "kb")
    return tmp_path / "kb"


def _load(kb_dir: Path):
    # A copy being edited: loaded unsealed, as while authoring.
    return load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)


def _rule_file(kb_dir: Path, text: str) -> Path:
    path = kb_dir / "rules" / "extra.yaml"
    path.write_text(text)
    return path


RULE = """version: 1
rules:
  - id: extra
    title: Extra
    when: {when}
    then:
      - {then}
    because: Test.
    sources: [test_source]
"""

BROKEN_RULES = [
    # (when, then, fragment, line)
    ("numbness", "derive: age", "derives 'age', which is already a fact (defined at", 7),
    ("numbness", "derive: Not An Id", "'derive' must be a snake_case identifier, got 'Not An Id'", 7),
    ("numbness", "recommend: [see_doctor]", "'recommend' takes a name, not a list", 7),
    ("numbess", "triage: urgent", "unknown fact or finding 'numbess' (did you mean 'numbness'?)", 5),
    ("no_such_finding", "triage: urgent", "unknown fact or finding 'no_such_finding'", 5),
    ("numbness", "recommend: no_such_rec", "unknown recommendation 'no_such_rec'", 7),
    ("numbness", "withhold: rest", "a 'withhold' action is missing 'reason'", 7),
    ("5", "triage: urgent", "a condition is text or a mapping of all/any/not, not a number (5)", 5),
    ("2020-01-01", "triage: urgent", "a condition is text or a mapping of all/any/not, not a date", 5),
    (
        "{all: [numbness, [fever]]}",
        "triage: urgent",
        "a condition is a string or a mapping, not LocatedList",
        5,
    ),
    ("'age " + " " * 300 + "!'", "triage: urgent", "condition text of 305 characters (the limit is 200)", 5),
]


@pytest.mark.parametrize(("when", "then", "fragment", "line"), BROKEN_RULES, ids=[b[2][:40] for b in BROKEN_RULES])
def test_broken_rule_named_with_file_and_line(kb_dir, when, then, fragment, line):
    """Wrong types, bad names and unknown references in a rule are named with file:line and the rule."""
    _rule_file(kb_dir, RULE.format(when=when, then=then))
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb_dir)
    message = str(info.value)
    assert fragment in message
    assert message.startswith(f"{kb_dir / 'rules'}/extra.yaml:{line}: rule 'extra': ")
    assert "\n" not in message


def test_unknown_source_in_catalogue(kb_dir):
    """A catalogue entry citing an unknown source is named with its line."""
    path = kb_dir / "knowledge" / "recommendations.yaml"
    path.write_text(path.read_text().replace("sources: [test_source]", "sources: [test_sauce]", 1))
    with pytest.raises(
        KnowledgeBaseError,
        match=r"recommendations\.yaml:\d+: unknown source 'test_sauce' \(did you mean 'test_source'\?\)",
    ):
        _load(kb_dir)


def test_version_must_be_the_integer_one(kb_dir):
    """'version: true' is not 'version: 1' (true == 1 in Python, not here)."""
    path = kb_dir / "rules" / "main.yaml"
    path.write_text(path.read_text().replace("version: 1", "version: true", 1))
    with pytest.raises(KnowledgeBaseError, match=r"main\.yaml:1: expected 'version: 1'"):
        _load(kb_dir)


def test_condition_explosion_rejected_fast(kb_dir):
    """A condition whose normal form would have 2**40 branches is refused at once, not expanded."""
    when = "{all: [" + ", ".join(["{any: [numbness, fever]}"] * 40) + "]}"
    _rule_file(kb_dir, RULE.format(when=when, then="triage: urgent"))
    # Loading the small base takes about ten thousand calls; expanding the condition would take 2**40.
    with (
        calls_at_most(100_000),
        pytest.raises(KnowledgeBaseError, match=r"extra\.yaml:5: rule 'extra': the condition has .* branches"),
    ):
        _load(kb_dir)


def test_long_condition_text_rejected_fast(kb_dir):
    """A 1 MB condition string (a regular-expression backtracking bomb) is refused before parsing."""
    _rule_file(kb_dir, RULE.format(when="'a" + " " * 1_000_000 + "!'", then="triage: urgent"))
    with calls_at_most(100_000), pytest.raises(KnowledgeBaseError, match="condition text of 1,000,002 characters"):
        _load(kb_dir)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 2020-13-45\n", 1, "cannot read '2020-13-45' as a timestamp (month must be in 1..12)"),
        ("a: 1\nb: !!int abc\n", 2, "cannot read 'abc' as an int"),
        ("a: !!float x\n", 1, "cannot read 'x' as a float"),
        ("a: !!timestamp x\n", 1, "cannot read 'x' as a timestamp"),
        ("a: !!bool maybe\n", 1, "cannot read 'maybe' as a bool"),
        ("a: " + "9" * 5000 + "\n", 1, "as an int (too many digits)"),
        ("a: 1\nb: \x01\n", 2, "character U+0001 is not allowed"),
        ("a: !!python/name:os.system x\n", 1, "could not determine a constructor"),
        ("--- 1\n--- 2\n", 2, "expected a single document in the stream, but found another document"),
        ("? [a, b]\n: 1\n", 1, "keys must be strings, not list (['a', 'b'])"),
        (
            "a:\n" + "".join("  " * i + "- \n" for i in range(1, 100)),
            65,
            "nested too deeply (the limit is 64 levels)",
        ),
        ("[" * 100_000, 1, "nested too deeply"),
    ],
)
def test_yaml_constructs_rejected_with_line(text, line, fragment):
    """Scalars PyYAML cannot build, forbidden characters, unsafe tags and deep nesting are located errors."""
    with pytest.raises(KnowledgeBaseError) as info:
        load_yaml_text(text, "f.yaml")
    assert fragment in str(info.value)
    assert info.value.line == line
    assert str(info.value).startswith(f"f.yaml:{line}: invalid YAML: ")


def test_billion_laughs_rejected_fast(kb_dir):
    """An alias bomb in a rule file is refused at its first alias, with bounded work."""
    bomb = "version: 1\nrules:\n  - &a [x, x, x, x, x, x, x, x, x]\n"
    bomb += "  - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "".join(f"  - &l{i} [" + ", ".join([f"*{'b' if i == 0 else f'l{i - 1}'}"] * 9) + "]\n" for i in range(10))
    _rule_file(kb_dir, bomb)
    with calls_at_most(100_000), pytest.raises(KnowledgeBaseError, match=r"extra\.yaml:4: invalid YAML: aliases"):
        _load(kb_dir)


def test_too_many_values_rejected_fast(kb_dir):
    """A file under the size limit with hundreds of thousands of keys is stopped at the value limit."""
    _rule_file(kb_dir, "version: 1\n" + "".join(f"k{i}: {i}\n" for i in range(120_000)))
    with pytest.raises(KnowledgeBaseError, match=r"extra\.yaml:\d+: invalid YAML: too many values") as info:
        _load(kb_dir)
    # Two values a line: the reader stopped at the line holding value MAX_NODES, not at the end of the file.
    assert info.value.line is not None
    assert info.value.line <= MAX_NODES // 2 + 1


def test_huge_file_read_no_further_than_the_limit(kb_dir):
    """A 4 GB (sparse) rule file is refused after reading only the limit: bounded time and memory."""
    path = kb_dir / "rules" / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(4 * 1024**3)
    with (
        bytes_read_at_most(3 * MAX_FILE_BYTES),
        pytest.raises(KnowledgeBaseError, match=f"huge.yaml: file is {MAX_FILE_BYTES + 1:,} bytes; the limit"),
    ):
        _load(kb_dir)


def test_non_utf8_knowledge_file(kb_dir):
    """Bytes that are not UTF-8 in a knowledge file are named with file and line."""
    path = kb_dir / "knowledge" / "facts.yaml"
    path.write_bytes(path.read_bytes().replace(b'"Fever?"', b'"Fi\xe8vre?"', 1))
    with pytest.raises(KnowledgeBaseError, match=r"facts\.yaml:\d+: not UTF-8 text"):
        _load(kb_dir)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('question: "Fever?"', "question: [Fever]", "'question' must be text, not a list"),
        ("type: boolean", "type: bool", "'type' must be one of boolean, integer, enum, got 'bool'"),
        ("min: 0", "min: 0.5", "'min' must be an integer"),
        ("role: context", "role: context\n    colour: blue", "unknown key 'colour' in a fact"),
    ],
)
def test_wrong_types_in_facts(kb_dir, old, new, fragment):
    """Wrong types and unknown keys in facts.yaml are named with the line."""
    path = kb_dir / "knowledge" / "facts.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb_dir)
    assert fragment in str(info.value)
    assert info.value.line is not None


# --- case input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty input"),
        (b"  \n\t\n", "empty input"),
        (b"\xef\xbb\xbf", "empty input"),
        (b"\x00\x01\x02garbage", "binary data"),
        (b"\xff\xfe\xfd", "not UTF-8 text"),
        (b"[" * 100_000, "nested too deeply"),
        (b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 100)), "nested too deeply"),
        (b'{"age": NaN}', "NaN is not a valid value"),
        (b'{"age": -Infinity}', "-Infinity is not a valid value"),
        (b'{"age": 1, "age": 2}', "invalid JSON: duplicate key 'age'"),
        (b"age: 1\nage: 2\n", "duplicate key 'age'"),
        (b'{"age": ' + b"9" * 5000 + b"}", "a number with 5,000 digits is too long"),
        (b"age: " + b"9" * 5000 + b"\n", "too many digits"),
        (b"age: &a 3\npain_severity: *a\n", "aliases"),
        (b"[1, 2", "invalid JSON"),
        (b"{numbness: [}", "invalid JSON"),
        (b"x" * (MAX_CASE_BYTES + 1), "the limit is"),
        (b"".join(b"k%d: 1\n" % i for i in range(30_000)), "too many values"),
    ],
)
def test_unreadable_case_input(data, fragment):
    """Input that is not a readable JSON/YAML document is a CaseError saying why."""
    # Each input is at most a megabyte; reading it must not blow up (JSON and YAML libraries work in C).
    with calls_at_most(5_000_000), pytest.raises(CaseError) as info:
        parse_case_text(data, "case")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_flow_mapping_accepted():
    """Text starting with '{' that is YAML but not JSON is read as YAML."""
    assert parse_case_text(b"{numbness: true, age: 40}", "case") == {"numbness": True, "age": 40}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Explicit tags still build their values; plain dates are text in YAML 1.2 (see test_case_yaml_is_yaml_1_2).
        (b"age: !!timestamp 2020-01-01\n", "age: expected an integer from 0 to 120, got the date 2020-01-01"),
        (
            b"age: !!timestamp 2020-01-01 10:00:00\n",
            "age: expected an integer from 0 to 120, got the timestamp 2020-01-01T10:00:00",
        ),
        (b"numbness: !!binary aGVsbG8=\n", "numbness: expected true or false, got binary data (5 bytes)"),
        (b"numbness: !!set {a}\n", "numbness: expected true or false, got {'a'}"),
        (b"posture: !!omap [{a: 1}]\n", "posture: expected one of good, poor, got [('a', 1)]"),
        (b'{"age": 1e999}', "age: expected an integer from 0 to 120, got inf"),
        (
            b'{"age": 40.0}',
            "age: expected an integer from 0 to 120, got 40.0 (write 40 without a decimal point)",
        ),
        (b'{"age": true}', "age: expected an integer from 0 to 120, got True"),
        (b'{"numbness": 1}', "numbness: expected true or false, got 1"),
        (
            b'{"numbness": "yes"}',
            "numbness: expected true or false, got 'yes' (write true or false, not a string)",
        ),
        (
            b"numbness: 'yes'\n",
            "numbness: expected true or false, got 'yes' (write true or false, not a string)",
        ),
        (b'{"age": {"years": 40}}', "age: expected an integer from 0 to 120, got {'years': 40}"),
        (b'{"age": [[[[[[[[40]]]]]]]]}', "age: expected an integer from 0 to 120, got [[[...]]]"),
    ],
)
def test_unusual_values_are_wrong_types(mini, text, message):
    """Dates, timestamps, binary, sets, infinity, floats, booleans for numbers and the reverse are wrong."""
    data = parse_case_text(text, "case")
    with pytest.raises(CaseError) as info:
        Case.from_mapping(data, mini.knowledge_base)
    assert str(info.value) == message


def test_yaml_yes_is_text_not_a_boolean(mini):
    """Case YAML is read by the YAML 1.2 core schema: unquoted yes/no are text, refused for yes/no facts."""
    with pytest.raises(CaseError) as info:
        Case.from_mapping(parse_case_text(b"numbness: yes\nfever: no\n", "c"), mini.knowledge_base)
    assert info.value.fields == ("numbness", "fever")
    assert "numbness: expected true or false, got 'yes'" in str(info.value)
    assert "fever: expected true or false, got 'no'" in str(info.value)
    assert dict(Case.from_mapping(parse_case_text(b"numbness: true\nfever: false\n", "c"), mini.knowledge_base)) == {
        "numbness": True,
        "fever": False,
    }


def test_every_problem_named_at_once(mini):
    """One error lists every wrong field with its value and what was expected."""
    data = {
        "age": "40",
        "numbess": True,
        "posture": "slouched",
        "fever": 1,
        "on_anticoagulants": [True],
        3: 1,
    }
    with pytest.raises(CaseError) as info:
        Case.from_mapping(data, mini.knowledge_base)
    assert info.value.fields == ("age", "numbess", "posture", "fever", "on_anticoagulants", "3")
    text = str(info.value)
    for part in (
        "age: expected an integer from 0 to 120, got '40'",
        "unknown fact 'numbess' (did you mean 'numbness'?)",
        "posture: expected one of good, poor, got 'slouched'",
        "fever: expected true or false, got 1",
        "on_anticoagulants: expected true or false, got [True]",
        "fact names are text, not int (3)",
    ):
        assert part in text


def test_huge_values_are_shortened(mini):
    """A megabyte key or value is shortened in the message; thousands of problems are counted, not listed."""
    with pytest.raises(CaseError) as info:
        Case.from_mapping({"k" * 1_000_000: 1, "age": "x" * 1_000_000}, mini.knowledge_base)
    assert len(str(info.value)) < 300
    # A few calls per key (about seven): linear, not quadratic, in the number of problems.
    with calls_at_most(20 * 20_000), pytest.raises(CaseError) as info:
        Case.from_mapping({f"unknown_{i}": True for i in range(20_000)}, mini.knowledge_base)
    assert len(info.value.problems) == 20_000
    assert str(info.value).endswith(f"and {20_000 - MAX_LISTED_PROBLEMS:,} more problems")


def test_huge_integer_value_does_not_crash_the_message(mini):
    """An integer too long to print is described, not printed (Python refuses to print it)."""
    with pytest.raises(CaseError, match="age: an integer of about 5000 digits is above the maximum 120"):
        Case.from_mapping({"age": 10**5000}, mini.knowledge_base)


def test_read_case_file_is_bounded(tmp_path):
    """Reading a case never reads more than the limit: /dev/zero-like files are refused quickly."""
    path = tmp_path / "big.json"
    with path.open("wb") as handle:
        handle.truncate(4 * 1024**3)
    with bytes_read_at_most(3 * MAX_CASE_BYTES), pytest.raises(CaseError, match="the limit is"):
        read_case_file(path)
    with pytest.raises(CaseError, match="cannot read case file"):
        read_case_file(tmp_path)


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        (b"", "empty input"),
        (b"\x00\xff\xfe\x00garbage", "<stdin>"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"age": NaN, "numbness": "yes"}', "NaN is not a valid value"),
        (b'{"age": true, "numbness": 1, "posture": 2}', "age: expected an integer"),
        (b"age: !!timestamp 2020-01-01\n", "got the date 2020-01-01"),
        (b"age: 2020-01-01\n", "age: expected an integer from 0 to 120, got '2020-01-01'"),
        (b'\xef\xbb\xbf{"numbness": true}', None),
    ],
)
def test_cli_case_input_exit_codes(stdin, fragment):
    """Bad case input: exit 2 and one line; a good one: exit 0; never a traceback."""
    code, out, err = run_cli(["assess", "-", *MINI], stdin)
    if fragment is None:
        assert code == 0, err
        assert is_report(out)
        return
    assert code == 2
    assert out == ""
    assert err.startswith("spasm-advisor: error: ")
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


# --- fuzzing -----------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),  # json.dumps cannot write longer ones
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["yes", "no", "true", "poor", "good", "40", "", "NaN"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FACT_NAMES = ["age", "numbness", "fever", "posture", "on_anticoagulants", "numbess", "", "AGE"]
CASE_LIKE = st.one_of(
    JSON_VALUES,
    st.dictionaries(
        st.one_of(st.sampled_from(FACT_NAMES), st.text(max_size=10), st.integers()), JSON_VALUES, max_size=6
    ),
)
YAMLISH = st.lists(
    st.sampled_from(
        [
            "numbness",
            "age",
            "posture",
            ":",
            ": ",
            " ",
            "\n",
            "- ",
            "[",
            "]",
            "{",
            "}",
            ",",
            "true",
            "yes",
            "1",
            "-3",
            "NaN",
            ".inf",
            ".nan",
            "&a ",
            "*a",
            "!!binary ",
            "!!timestamp ",
            "!!set ",
            "!!python/object ",
            "2020-13-45",
            "2020-01-01",
            "'",
            '"',
            "\t",
            "#",
            "? ",
            "<<: ",
            "~",
            "9" * 40,
            "\x00",
            "\ufeff",
            "\u2028",
            "%YAML 1.1\n",
            "---\n",
        ]
    ),
    max_size=40,
).map("".join)
CASE_BYTES = st.one_of(
    st.binary(max_size=200),
    YAMLISH.map(lambda t: t.encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)


@given(value=CASE_LIKE)
def test_fuzz_case_validation(mini, value):
    """Any JSON-like value is either a valid case or a CaseError naming each problem; nothing else escapes."""
    try:
        case, error = Case.from_mapping(value, mini.knowledge_base), None
    except CaseError as exc:
        case, error = None, exc
    if error is not None:
        assert error.problems
        assert len(str(error)) < 100_000
        assert "\n" not in str(error)
    else:
        assert isinstance(value, dict)
        assert all(v is not None for v in case.values())


@given(data=CASE_BYTES)
def test_fuzz_case_reader(mini, data):
    """Any bytes are either read (then validated) or refused with a CaseError; nothing else escapes."""
    try:
        value = parse_case_text(data, "fuzz")
        Case.from_mapping(value, mini.knowledge_base)
    except CaseError:
        pass


@given(text=st.one_of(YAMLISH, st.text(max_size=200)))
def test_fuzz_yaml_reader(text):
    """Any text is either parsed or refused with a located KnowledgeBaseError; nothing else escapes."""
    try:
        load_yaml_text(text, "fuzz.yaml")
    except KnowledgeBaseError as exc:
        error = exc
    else:
        return
    assert error.path == "fuzz.yaml"
    assert "\n" not in str(error)


@given(value=JSON_VALUES)
def test_fuzz_case_reader_round_trips_json(value):
    """JSON text of any mapping reads back to the same value, or (NaN/Infinity, huge numbers) is refused."""
    value = {"x": value}
    try:
        read = parse_case_text(json.dumps(value).encode(), "fuzz")
    except CaseError:
        return
    assert json.dumps(read, sort_keys=True) == json.dumps(value, sort_keys=True)


@given(value=JSON_VALUES)
def test_fuzz_case_reader_yaml_dump(mini, value):
    """YAML written by safe_dump from any value reads back or is refused with a CaseError."""
    with contextlib.suppress(CaseError):
        Case.from_mapping(parse_case_text(yaml.safe_dump(value).encode(), "fuzz"), mini.knowledge_base)


@settings(max_examples=FEW)
@given(data=CASE_BYTES)
def test_fuzz_cli_assess(data):
    """The command line on any stdin: exit 0 with a report, or exit 2 with one error line."""
    code, out, err = run_cli(["assess", "-", *MINI], data)
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("spasm-advisor: error: ")
        assert len(err.strip().splitlines()) == 1
        assert out == ""
    else:
        assert is_report(out)
    assert "internal error" not in err


# A snapshot taken once, so that the strategy draws from the same text every time.
BUNDLED = {
    name: (REPO / name).read_text(encoding="utf-8")
    for name in [
        "knowledge/facts.yaml",
        "knowledge/recommendations.yaml",
        "knowledge/sources.yaml",
        "knowledge/hazards.yaml",
        *sorted(f"rules/{p.name}" for p in (REPO / "rules").glob("*.yaml")),
    ]
}
NOISE = st.sampled_from(
    [
        ":",
        "-",
        " ",
        "  ",
        "[",
        "]",
        "{",
        "}",
        "&a",
        "*a",
        "!!",
        "#",
        "'",
        '"',
        "\t",
        "\n",
        "x",
        "0",
        "~",
        ",",
        "?",
    ]
)


@st.composite
def _kb_edit(draw):
    """A small random edit of one bundled YAML file: (relative path, new text)."""
    name = draw(st.sampled_from(sorted(BUNDLED)))
    text = BUNDLED[name]
    lines = text.split("\n")
    kind = draw(
        st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "noise", "truncate", "token", "value"])
    )
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap" and index + 1 < len(lines):
        lines[index], lines[index + 1] = lines[index + 1], lines[index]
    elif kind == "indent":
        lines[index] = "  " + lines[index]
    elif kind == "dedent":
        lines[index] = lines[index][2:]
    elif kind == "noise":
        line = lines[index]
        at = draw(st.integers(0, len(line)))
        lines[index] = line[:at] + draw(NOISE) + line[at + draw(st.integers(0, 1)) :]
    elif kind == "truncate":
        lines = lines[:index]
    elif kind == "token":
        tokens = sorted({t for t in " ".join(lines).replace(":", " ").split() if t.isidentifier()})
        old, new = draw(st.sampled_from(tokens)), draw(st.sampled_from(tokens))
        lines[index] = lines[index].replace(old, new)
    else:
        line = lines[index]
        if ": " in line:
            key = line.split(": ", 1)[0]
            lines[index] = (
                key + ": " + draw(st.sampled_from(["1", "true", "null", "[]", "{}", "x", "2020-01-01", "-1", "'a b'"]))
            )
    return name, "\n".join(lines)


@pytest.fixture(scope="module", name="kb_copy")
def _kb_copy(tmp_path_factory):
    """A private copy of the bundled knowledge base to edit."""
    root = tmp_path_factory.mktemp("bundled")
    # What the edits do not touch: the hazard log, the invariants and the cases it names.
    shutil.copytree(REPO / "knowledge", root / "knowledge")
    for name, text in BUNDLED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@settings(max_examples=FEW, suppress_health_check=[HealthCheck.too_slow])
@given(edit=_kb_edit())
def test_fuzz_knowledge_base_edits(kb_copy, edit):
    """A random edit of a bundled file loads (and assesses) or gives a KnowledgeBaseError naming a file."""
    name, text = edit
    path = kb_copy / name
    path.write_text(text, encoding="utf-8")
    try:
        kb, error = load_knowledge_base(kb_copy / "rules", kb_copy / "knowledge", sealed=False), None
    except KnowledgeBaseError as exc:
        kb, error = None, exc
    finally:
        path.write_text(BUNDLED[name], encoding="utf-8")
    if error is not None:
        assert error.path is not None, str(error)
        assert "\n" not in str(error)
    else:
        assert Advisor(kb).assess({}).triage
        assert compile_knowledge_base(kb).branches


def test_nan_is_not_equal_to_itself_in_messages(mini):
    """A NaN value is reported as nan (not silently accepted by a comparison)."""
    with pytest.raises(CaseError, match="got nan"):
        Case.from_mapping({"age": math.nan}, mini.knowledge_base)
