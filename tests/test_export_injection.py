"""Hostile catalog text must never become live query text in any export target."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
import sqlglot
import yaml

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Tool
from rmmhunt.errors import CatalogError
from rmmhunt.export import ExportError, export_hunt
from rmmhunt.export.backends import BACKEND_TARGETS
from rmmhunt.export.comments import comment_text
from rmmhunt.export.sigma import sigma_rule_documents
from rmmhunt.xql import parse

HOSTILE_NAME = "Evil ``` | delete index=* ``` \" ' \\ ; -- // */ | x"
HOSTILE_EXECUTABLES = (
    'a".exe',
    "b'.exe",
    "c\\d.exe",
    "g | h.exe",
    "i;j--.exe",
    "k//x.exe",
    'o\\".exe',
)
# pySigma quotes every query string with double quotes and backslash escapes. Each target's
# queries have this many pipes outside string literals.
PIPES = {"splunk": 0, "defender-kql": 1, "sentinel-kql": 1, "esql": 1, "eql": 0, "lucene": 0}


def _tool(**overrides: Any) -> Tool:
    document: dict[str, Any] = {
        "id": "evil",
        "name": HOSTILE_NAME,
        "vendor": "x ``` | y",
        "category": "rmm",
        "description": "x",
        "executables": list(HOSTILE_EXECUTABLES),
        "original_file_names": ['x"); drop table t;--.exe'],
        "hashes": {"md5": ["0123456789abcdef0123456789abcdef"]},
        "code_signers": ['S"igner ``` | x -- // */'],
        "domains": ["evil.example"],
        "techniques": ["T1219"],
    }
    document.update(overrides)
    return Tool.model_validate(document)


@pytest.fixture
def offline_pysigma(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sigma", reason="pySigma is missing; install rmmhunt[export]")
    attack = importlib.import_module("sigma.data.mitre_attack")
    d3fend = importlib.import_module("sigma.data.mitre_d3fend")

    def reject_download(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pySigma tried to download MITRE data")

    monkeypatch.setattr(attack, "_load_mitre_attack_data", reject_download)
    monkeypatch.setattr(d3fend, "_load_mitre_d3fend_data", reject_download)


def _split_strings(query: str, *, escapes_outside: bool) -> tuple[str, list[str]]:
    """Split a query into its text outside double-quoted strings and the unescaped strings.

    Inside a string, a backslash escapes the next character. With `escapes_outside` (Lucene),
    it does so outside strings too, and the escaped character counts as part of a term.
    """
    outside: list[str] = []
    strings: list[str] = []
    current: list[str] | None = None
    index = 0
    while index < len(query):
        character = query[index]
        if character == "\\" and (current is not None or escapes_outside):
            following = query[index + 1 : index + 2]
            (current if current is not None else outside).append(
                following if current is not None else "_"
            )
            index += 2
            continue
        if character == '"':
            if current is None:
                current = []
            else:
                strings.append("".join(current))
                current = None
            outside.append('"')
        elif current is not None:
            current.append(character)
        else:
            outside.append(character)
        index += 1
    assert current is None, f"unterminated string in {query!r}"
    return "".join(outside), strings


def _rule_queries(target: str, text: str) -> list[str]:
    """Return the query text of each rule, after checking that comments are whole lines."""
    comment = BACKEND_TARGETS[target].comment
    if comment is None:
        return [line for line in text.splitlines() if line.strip()]

    queries: list[str] = []
    for block in text.split("\n\n"):
        query_lines: list[str] = []
        for line in block.splitlines():
            if line.startswith(comment):
                if comment == "```":
                    assert line.endswith(" ```"), line
                    assert line.count("```") == 2, line
            elif line.strip():
                query_lines.append(line)
        if query_lines:
            queries.append("\n".join(query_lines))
    return queries


def test_comment_text_is_one_safe_line() -> None:
    text = comment_text("a\nb\r\nc\u2028d\u0085e ``` f */ g\tz")

    assert "\n" not in text
    assert "\r" not in text
    assert "\u2028" not in text
    assert "`" not in text
    assert "*/" not in text
    assert text == "a b c d e ''' f * / g z"


@pytest.mark.parametrize("target", sorted(BACKEND_TARGETS))
def test_backend_hostile_catalog_stays_quoted(offline_pysigma: None, target: str) -> None:
    spec = BACKEND_TARGETS[target]
    catalog = Catalog([_tool()])
    rules = sigma_rule_documents(catalog, "default", options=spec.options)

    text = export_hunt(catalog, target).text
    queries = _rule_queries(target, text)

    assert len(queries) == len(rules)
    literals: list[str] = []
    for query in queries:
        outside, strings = _split_strings(query, escapes_outside=target == "lucene")
        literals.extend(strings)
        assert outside.count("|") == PIPES[target], query
        assert "`" not in outside, query
        if target == "lucene":
            # Lucene's operators, none of which may appear unescaped outside a phrase.
            assert not set(outside) & set("+-&|!{}[]^~?/\\"), query
            continue
        assert ";" not in outside, query
        assert "//" not in outside, query
        assert "--" not in outside, query
    if target != "lucene":
        # Each hostile name reaches the query as one whole string literal.
        for name in HOSTILE_EXECUTABLES:
            assert any(literal.endswith(name) for literal in literals), name


def test_splunk_rejects_backtick_values(offline_pysigma: None) -> None:
    catalog = Catalog([_tool(executables=["l`m.exe"])])

    with pytest.raises(ExportError, match="backtick"):
        export_hunt(catalog, "splunk")


@pytest.mark.parametrize("target", sorted(BACKEND_TARGETS))
def test_backend_rejects_line_break_values(offline_pysigma: None, target: str) -> None:
    # The model rejects line breaks, so this tool is built without validation, as code could.
    tool = _tool().model_copy(update={"executables": ("p\n| union x.exe",)})

    with pytest.raises(ExportError, match="line break"):
        export_hunt(Catalog([tool]), target)


@pytest.mark.parametrize("target", sorted(BACKEND_TARGETS))
def test_backend_line_break_name_stays_comment(offline_pysigma: None, target: str) -> None:
    tool = _tool().model_copy(update={"name": "Evil\n| union DeviceLogonEvents\u2028| take 1"})
    rules = sigma_rule_documents(
        Catalog([tool]), "default", options=BACKEND_TARGETS[target].options
    )

    text = export_hunt(Catalog([tool]), target).text

    assert "union" not in "\n".join(_rule_queries(target, text))
    assert len(_rule_queries(target, text)) == len(rules)


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "snowflake", "bigquery", "trino"])
def test_sql_hostile_catalog_is_one_statement(dialect: str) -> None:
    names = ("b'.exe", "c\\d.exe", "i;j--.exe", "k//x.exe", "g | h.exe")
    catalog = Catalog([_tool(executables=list(names), original_file_names=["y';--.exe"])])

    text = export_hunt(catalog, "sql", dialect=dialect).text
    statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]

    assert len(statements) == 1
    literals = {
        literal.this for literal in statements[0].find_all(sqlglot.exp.Literal) if literal.is_string
    }
    for name in names:
        assert name.casefold() in {value.casefold() for value in literals}, name


def test_xql_hostile_catalog_parses_as_one_query() -> None:
    names = ["b'.exe", "c\\d.exe", "i;j--.exe", "k//x.exe", "g | h.exe"]
    catalog = Catalog([_tool(executables=names, original_file_names=[])])

    text = export_hunt(catalog, "xql").text
    query = parse(text)

    assert "delete" not in text
    literals = {value.casefold() for value in re.findall(r'"((?:[^"\\]|\\.)*)"', query.to_xql())}
    for name in names:
        assert name.casefold() in literals, name


def test_sigma_hostile_catalog_round_trips() -> None:
    catalog = Catalog([_tool()])

    text = export_hunt(catalog, "sigma").text
    documents = list(yaml.safe_load_all(text))

    assert len(documents) == 2
    assert documents[0]["title"] == f"{HOSTILE_NAME} process start"
    images = documents[0]["detection"]["selection_image"]["Image|endswith"]
    assert images == [f"\\{name}" for name in HOSTILE_EXECUTABLES]
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert all("\n" not in line for line in comments)


@pytest.mark.parametrize("target", ["xql", "sql"])
@pytest.mark.parametrize("separator", ["\r", "\u2028", "\x85"])
def test_xql_and_sql_reject_line_breaks(target: str, separator: str) -> None:
    tool = _tool().model_copy(
        update={"executables": (f"p{separator}| union x.exe",), "original_file_names": ()}
    )

    with pytest.raises(CatalogError, match="line break"):
        export_hunt(Catalog([tool]), target)
