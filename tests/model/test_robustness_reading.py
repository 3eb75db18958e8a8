"""Files that are not plain UTF-8 YAML: each a problem with file and line, exit 2, no traceback."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import pytest

from twin.cli.app import main
from twin.model import reader
from twin.model.errors import ModelError
from twin.model.source import parse_set

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_bytes()


def validate(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """`twin validate PATH` through the console entry point: (exit status, stderr)."""
    monkeypatch.setattr(sys, "argv", ["twin", "validate", str(path)])
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code or 0, capsys.readouterr().err


def with_line(tmp_path: Path, data: bytes) -> Path:
    """eco2-base.yaml with `data` as a new line before `cluster:` (line 16)."""
    assert BASE.split(b"\n")[15].startswith(b"cluster:")
    path = tmp_path / "t.yaml"
    path.write_bytes(BASE.replace(b"\ncluster:", b"\n" + data + b"\ncluster:", 1))
    return path


@pytest.mark.parametrize(("data", "byte", "line", "column"), [
    (b"# caf\xe9 latin-1", 0xE9, 16, 6),
    (b"\xff", 0xFF, 16, 1),
])
def test_a_file_that_is_not_utf8_names_byte_offset_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        data: bytes, byte: int, line: int, column: int) -> None:
    path = with_line(tmp_path, data)
    offset = path.read_bytes().index(bytes([byte]))
    code, err = validate(path, monkeypatch, capsys)
    assert code == 2
    assert f"{path}:{line}:{column}: not UTF-8: byte 0x{byte:02x} at offset {offset}" in err
    assert "Traceback" not in err


def test_a_utf16_file_is_not_utf8_at_its_first_byte(tmp_path: Path) -> None:
    path = tmp_path / "u16.yaml"
    path.write_bytes(BASE.decode().encode("utf-16"))
    with pytest.raises(ModelError, match=r"u16.yaml:1:1: not UTF-8: byte 0x(ff|fe) at offset 0"):
        reader.read_yaml(path)


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE)
    assert reader.read_yaml(path).value["kind"].value == "Topology"


@pytest.mark.parametrize("value", [
    "!!omap [{a: 1}]", "!!set {a, b}", "!!pairs [{a: 1}]", "!!binary aGk=",
    "!!python/object/apply:os.system [echo hi]", "!!python/name:builtins.eval", "!custom {a: 1}",
    "!custom [1]", "!custom text", "!!timestamp-ish x",
])
def test_tags_beyond_the_core_set_are_a_problem_with_their_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, value: str) -> None:
    path = with_line(tmp_path, f"extra: {value}".encode())
    code, err = validate(path, monkeypatch, capsys)
    assert code == 2
    tag = value.split()[0]
    assert f"{path}:16:1: YAML tag '{tag}' is not allowed" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("text", "value"), [
    ("a: !!str 12", "12"), ("a: !!int '12'", 12), ("a: !!float 1", 1.0), ("a: !!bool true", True),
    ("a: !!null ''", None), ("a: ! 12", 12), ("a: 2024-05-01", "2024-05-01"),
])
def test_the_core_tags_still_read(text: str, value: object) -> None:
    assert reader.parse_yaml(text, "f").value["a"].value == value


def test_a_core_tag_on_a_value_it_does_not_fit_is_a_problem() -> None:
    with pytest.raises(ModelError, match=r"f:1:1: YAML: 'abc' is not a valid !!int"):
        reader.parse_yaml("a: !!int abc", "f")


def bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each level an anchor of `width` aliases of the one before."""
    lines = ["apiVersion: twin.eco2/v1", "kind: Topology",
             "l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once_in_bounded_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(), encoding="utf-8")  # 9**9: 387 million values once expanded
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code, err = validate(path, monkeypatch, capsys)
    took = time.perf_counter() - started
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert code == 2
    assert f"{path}:" in err and "refused as an alias bomb" in err
    assert f"more than {reader.MAX_VALUES:,} values" in err
    assert took < 1.0, f"took {took:.2f}s"
    assert grown_kib < 50_000, f"grew by {grown_kib} KiB"


def test_the_bomb_is_named_at_the_line_where_it_crosses_the_bound() -> None:
    with pytest.raises(ModelError) as e:
        reader.parse_yaml(bomb(), "b.yaml")
    (p,) = e.value.problems
    # l4 (line 7) expands to 66,430 values, l5 (line 8) to 597,871: the first over 100,000
    assert (p.file, p.line) == ("b.yaml", 8)


def test_a_file_within_the_bound_uses_its_aliases_freely() -> None:
    node = reader.parse_yaml(bomb(levels=3), "ok.yaml")  # 9**3 = 729 values
    assert len(node.value["l3"].value) == 9 and reader._plain(node)["l3"][8][8][8][8] == "lol"


def test_a_cyclic_alias_and_deep_nesting_are_problems_not_crashes() -> None:
    with pytest.raises(ModelError, match="a cycle"):
        reader.parse_yaml("a: &a [*a]", "c.yaml")
    with pytest.raises(ModelError, match=f"nested more than {reader.MAX_DEPTH} levels"):
        reader.parse_yaml("a: " + "[" * 100 + "]" * 100, "d.yaml")
    with pytest.raises(ModelError, match="nested too deeply"):
        reader.parse_yaml("a: " + "[" * 5000 + "]" * 5000, "d.yaml")


def test_a_huge_file_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.write(b"a: [" + b"1, " * (reader.MAX_BYTES // 3) + b"1]\n")
    with pytest.raises(ModelError, match="larger than 8 MiB"):
        reader.read_yaml(path)


@pytest.mark.parametrize(("text", "words", "line"), [
    ("a: 1\nb: 2\na: 3\n", "a: duplicate key (first at line 1)", 3),
    ("1: a\n", "1: keys must be strings", 1),
    ("? [a, b]\n: 1\n", "a mapping key must be a plain value", 1),
    ("a: b\x07\n", "character #x0007 is not allowed", 1),
    ("a: *missing\n", "found undefined alias 'missing'", 1),
    ("b: &b [1]\nc:\n  <<: *b\n", "a merge (<<) takes a mapping", 3),
])
def test_other_bad_yaml_is_a_problem_with_its_line(text: str, words: str, line: int) -> None:
    with pytest.raises(ModelError) as e:
        reader.parse_yaml(text, "f.yaml")
    assert any(words in str(p) and p.line == line for p in e.value.problems), e.value


def test_a_merge_key_merges_with_the_mapping_own_keys_first() -> None:
    node = reader.parse_yaml("b: &b {p: 1, q: 2}\nc:\n  <<: *b\n  q: 3\n", "f.yaml")
    c = node.value["c"].value
    assert {k: v.value for k, v in c.items()} == {"q": 3, "p": 1}
    assert c["p"].pos.line == 1  # a merged value keeps the line that supplied it


def test_a_set_value_is_read_as_a_file_value_is() -> None:
    assert parse_set("a=2024-05-01")[1] == "2024-05-01"
    assert parse_set("a=[x, {y: 1}]")[1] == ["x", {"y": 1}]
    assert parse_set("a=!!python/name:os.system")[1] == "!!python/name:os.system"  # text, not code
    big = "[" + ", ".join(["&x [1, 2, 3]"] + ["*x"] * 10) + "]"
    assert len(parse_set(f"a={big}")[1]) == 11


def test_a_text_read_twice_gives_trees_of_their_own() -> None:
    first = reader.parse_yaml("a: {b: [1, 2]}", "same.yaml")
    first.value["a"].value["b"].value.append(reader.Node(3, reader.Pos("x")))
    first.value["a"].value["c"] = reader.Node(4, reader.Pos("x"))
    again = reader.parse_yaml("a: {b: [1, 2]}", "same.yaml")
    assert reader._plain(again) == {"a": {"b": [1, 2]}}
