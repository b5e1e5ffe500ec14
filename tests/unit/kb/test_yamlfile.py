"""Safe YAML reading: aliases, duplicate keys, encoding and size are rejected with file:line."""

from __future__ import annotations

import pytest

from spasm_advisor.errors import KnowledgeBaseError
from spasm_advisor.kb.yamlfile import MAX_FILE_BYTES, decode, load_yaml_text


def test_lines_are_kept():
    """Mappings and lists remember their starting line."""
    data = load_yaml_text("a: 1\nb:\n  - x: 2\n", "f.yaml")
    assert data.line == 1
    assert data.key_lines["b"] == 2
    assert data["b"][0].line == 3


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: &x [1]\nb: *x\n", 2, "aliases"),
        ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
        ("a: [\n", 2, "invalid YAML"),
        ("1: 2\n", 1, "keys must be strings"),
        ("a: !!python/object:os.system x\n", 1, "invalid YAML"),
    ],
)
def test_rejections(text, line, fragment):
    """Each unsafe or malformed input names the file and line."""
    with pytest.raises(KnowledgeBaseError) as info:
        load_yaml_text(text, "f.yaml")
    assert info.value.path == "f.yaml"
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"f.yaml:{line}: ")


def test_billion_laughs_rejected_fast():
    """The alias bomb fails at the first alias instead of expanding."""
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    with pytest.raises(KnowledgeBaseError, match="aliases"):
        load_yaml_text(bomb, "bomb.yaml")


def test_non_utf8_names_line():
    """Bytes that are not UTF-8 are reported with their line."""
    with pytest.raises(KnowledgeBaseError) as info:
        decode(b"a: 1\nb: \xff\n", "f.yaml")
    assert info.value.line == 2


def test_size_limit():
    """Files over the limit are refused before parsing."""
    with pytest.raises(KnowledgeBaseError, match="limit"):
        decode(b"#" * (MAX_FILE_BYTES + 1), "big.yaml")
