"""Load hunt files: YAML front matter with the hunt's metadata, then a Markdown body.

The body contains the hunt's description and its query in one ```xql fenced block, unless the front
matter's `catalog_query` requests a query rendered from the tool catalog. `docs/hunts.md` has
the full reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.errors import CatalogError, QueryError
from rmmhunt.hunts.model import HuntMetadata
from rmmhunt.hunts.render import render_hunt_xql
from rmmhunt.xql.markdown import FENCE, find_xql_block
from rmmhunt.xql.source import QuerySource
from rmmhunt.yamlsafe import compose_yaml, error_hint

__all__ = ["Hunt", "builtin_hunts", "find_hunt", "load_hunt_file", "parse_hunt"]

# Front matter: a `---` line, YAML, and a closing `---` (or `...`) line at the file's start.
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.M | re.S)
OPENING_LINE = re.compile(r"\A---[ \t]*\r?(?:\n|\Z)")


@dataclass(frozen=True)
class Hunt:
    """A loaded hunt: its metadata, its Markdown body and its XQL query.

    Attributes:
        metadata: the validated front matter.
        body: the Markdown after the front matter, with the ```xql block when it has one.
        query: the XQL, with the file and line it starts on; a catalog query is rendered at
            load time and has the path `<catalog>`.
        path: the file's display path.
    """

    metadata: HuntMetadata
    body: str
    query: QuerySource
    path: str

    @property
    def id(self) -> str:
        """The hunt's id."""
        return self.metadata.id


def parse_hunt(text: str, display: str, catalog: Catalog) -> Hunt:
    """Parse and validate a hunt file's text, and render its catalog query if it has one.

    Raises:
        QueryError: the front matter is missing, is not valid YAML or fails validation, or the
            body does not hold exactly one ```xql block (none for a catalog query).
        CatalogError: the catalog query names a category that has no indicator.
    """
    # A byte order mark is not part of the text, but some Windows editors write one.
    text = text.removeprefix("\ufeff")
    match = FRONT_MATTER.match(text)
    if match is None and OPENING_LINE.match(text):
        raise QueryError(
            "the front matter is not closed",
            path=display,
            line=1,
            hint="end the metadata with a line '---'",
        )
    if match is None:
        raise QueryError(
            "the hunt file does not start with YAML front matter",
            path=display,
            line=1,
            hint="start the file with a line '---', the metadata, and another '---'",
        )
    metadata = _metadata(match["yaml"], display)
    body = text[match.end() :]
    body_line = text.count("\n", 0, match.end()) + 1

    if metadata.catalog_query is not None:
        return Hunt(metadata, body, _catalog_source(metadata, body, display, catalog), display)

    try:
        xql, first_line = find_xql_block(body)
    except QueryError as error:
        error.path = display
        if error.line is not None:
            error.line += body_line - 1
        raise
    return Hunt(metadata, body, QuerySource(xql, display, first_line + body_line - 1), display)


def _metadata(front_matter: str, display: str) -> HuntMetadata:
    try:
        node, data = compose_yaml(front_matter)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise QueryError(
            f"invalid YAML in the front matter: {getattr(error, 'problem', None) or error}",
            path=display,
            line=mark.line + 2 if mark else None,
            hint=error_hint(error, "check the indentation and quoting"),
        ) from None
    if not isinstance(data, dict) or node is None:
        raise QueryError("the front matter is not a mapping of fields", path=display, line=2)
    _check_duplicate_keys(node, display)

    try:
        return HuntMetadata.model_validate(data)
    except ValidationError as error:
        detail = error.errors()[0]
        location = [str(part) for part in detail["loc"]]
        line = _key_line(node, detail["loc"])
        problems = len(error.errors())
        more = f" (and {problems - 1} more problem(s))" if problems > 1 else ""
        raise QueryError(
            f"{'.'.join(location) or 'front matter'}: {detail['msg']}{more}",
            path=display,
            line=line,
            hint="docs/hunts.md lists the fields and their values",
        ) from None


def _check_duplicate_keys(node: yaml.Node, display: str) -> None:
    """Raise QueryError for a key that a mapping repeats, which YAML loaders silently overwrite.

    Lines count from the file's start, in which the front matter starts on the second line.
    """
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, display)
        return
    if not isinstance(node, yaml.MappingNode):
        return

    first_lines: dict[object, int] = {}
    for key, value in node.value:
        line = int(key.start_mark.line) + 2
        if key.value in first_lines:
            raise QueryError(
                f"duplicate key {key.value!r} in the front matter, first given at line "
                f"{first_lines[key.value]}",
                path=display,
                line=line,
                hint="keep one of the two",
            )
        first_lines[key.value] = line
        _check_duplicate_keys(value, display)


def _key_line(node: yaml.Node, location: Sequence[int | str]) -> int:
    """Return the file line of the deepest front-matter node on a pydantic error location."""
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
    # The front matter starts on the file's second line, after `---`.
    return int(node.start_mark.line) + 2


def _catalog_source(
    metadata: HuntMetadata, body: str, display: str, catalog: Catalog
) -> QuerySource:
    if FENCE.search(body):
        raise QueryError(
            "the hunt has both a catalog_query and an ```xql block",
            path=display,
            hint="keep one: the catalog query is rendered from the catalog at load time",
        )
    spec = metadata.catalog_query
    assert spec is not None
    try:
        text = render_hunt_xql(catalog, spec.profile, [str(c) for c in spec.categories])
    except CatalogError as error:
        error.path = display
        raise
    return QuerySource(text, "<catalog>")


def load_hunt_file(path: Path, catalog: Catalog) -> Hunt:
    """Read and parse a hunt file.

    Raises:
        QueryError: the file cannot be read, is not UTF-8 or is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise QueryError(
            f"failed to read the hunt file: {error}",
            path=str(path),
            hint="check the path, its permissions, and that it is UTF-8 text",
        ) from None
    return parse_hunt(text, str(path), catalog)


def builtin_hunts(catalog: Catalog) -> list[Hunt]:
    """Load the hunts that ship with rmmhunt, sorted by id."""
    folder = resources.files("rmmhunt.hunts")
    hunts = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".md"):
            text = entry.read_text(encoding="utf-8")
            hunts.append(parse_hunt(text, f"rmmhunt/hunts/{entry.name}", catalog))
    return sorted(hunts, key=lambda hunt: hunt.id.casefold())


def find_hunt(hunts: Sequence[Hunt], hunt_id: str) -> Hunt:
    """Find a hunt by id, ignoring case.

    Raises:
        QueryError: no hunt has that id.
    """
    for hunt in hunts:
        if hunt.id.casefold() == hunt_id.strip().casefold():
            return hunt
    known = ", ".join(hunt.id for hunt in hunts)
    raise QueryError(f"hunt {hunt_id!r} not found", hint=f"choose from {known}")
