"""Load the tool catalog from YAML: the built-in files, then each `--catalog` folder.

File format (one tool per file, named `<id>.yaml`; `docs/catalog.md` has the full reference)::

    id: anydesk                  # slug, equals the file stem
    name: AnyDesk
    vendor: AnyDesk Software GmbH
    category: remote-desktop     # rmm | remote-desktop | remote-admin | tunnel
    description: Remote desktop and remote support software.
    aliases: []
    executables: [AnyDesk.exe]   # base names; `*` and `?` are wildcards
    original_file_names: [AnyDesk.exe]
    hashes: {sha256: [], md5: []}
    install_paths: ['C:\\Program Files (x86)\\AnyDesk\\**']
    code_signers: [AnyDesk Software GmbH]
    domains: [anydesk.com]       # matches the domain and its subdomains
    services: [AnyDesk]
    drivers: []
    techniques: [T1219, T1219.002]
    shared_with: []              # tool ids that legitimately claim the same names
    references:
      - url: https://lolrmm.io/tools/anydesk
        covers: [executables, domains]
    notes: optional free text

Folders load in order, and a tool in a later folder replaces a tool with the same id entirely
(fields are not merged). Every file of every folder is checked before anything is raised, so
one `CatalogValidationError` lists all problems, each with its file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import ValidationError

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Tool
from rmmhunt.errors import CatalogError
from rmmhunt.yamlsafe import compose_yaml, error_hint

_YAML_HINT = "check the indentation and quoting; quote Windows paths with '...'"

__all__ = ["CatalogValidationError", "load_catalog", "parse_tool"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".yaml", ".yml")


class CatalogValidationError(CatalogError):
    """An error for invalid catalog files, with one `CatalogError` per problem in `problems`.

    The error's own `path` and `line` are those of the first problem.
    """

    def __init__(self, problems: Sequence[CatalogError]) -> None:
        first = problems[0]
        lines = "\n".join(str(problem) for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s) in the catalog:\n{lines}",
            path=first.path,
            line=first.line,
            column=first.column,
            hint="fix the listed files, or leave out the --catalog folder that holds them",
        )
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Source:
    display: str
    stem: str
    text: str
    problem: CatalogError | None = None
    """The problem that kept the file from being read as text, in which case `text` is empty."""


def _node_mark(root: yaml.Node, location: Sequence[int | str]) -> yaml.Mark:
    """Find the YAML mark of the deepest node on a pydantic error location."""
    node = root
    last = len(location) - 1
    for position, part in enumerate(location):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # An unknown key is reported at the key itself, not at its value.
                    node = key if position == last else value
                    break
            else:
                return node.start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node.start_mark
            node = node.value[part]
        else:
            return node.start_mark
    return node.start_mark


def _duplicate_keys(node: yaml.Node, display: str) -> Iterator[CatalogError]:
    """Yield an error for each repeated mapping key, which PyYAML would silently overwrite."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield CatalogError(
                    f"duplicate key {key.value!r}",
                    path=display,
                    line=key.start_mark.line + 1,
                    column=key.start_mark.column + 1,
                    hint="keep one entry for each key",
                )
            seen.add(key.value)
            yield from _duplicate_keys(value, display)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, display)


def _compose(source: _Source) -> tuple[yaml.Node | None, object, list[CatalogError]]:
    """Parse one file into its node tree and its Python value."""
    try:
        node, data = compose_yaml(source.text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        return (
            None,
            None,
            [
                CatalogError(
                    f"invalid YAML: {error.problem}",
                    path=source.display,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                    hint=error_hint(error, _YAML_HINT),
                )
            ],
        )
    except RecursionError:
        # PyYAML composes nested collections recursively, so deep nesting exhausts the stack.
        problem = CatalogError(
            "invalid YAML: the collections are nested too deeply to parse",
            path=source.display,
            hint="a tool file needs only a few levels of nesting; check the brackets",
        )
        return None, None, [problem]
    return node, data, []


def parse_tool(text: str, display: str, stem: str) -> tuple[Tool | None, list[CatalogError]]:
    """Parse and validate one catalog file.

    Args:
        text: the file's content.
        display: the file name to show in errors.
        stem: the file name without its suffix, which must equal the tool's `id`.

    Returns:
        The tool, or None when the file is invalid, and the file's problems.
    """
    source = _Source(display, stem, text)
    node, data, errors = _compose(source)
    if node is None or errors:
        if not errors:
            errors.append(CatalogError("the file is empty", path=display, line=1))
        return None, errors

    if not isinstance(data, dict):
        message = f"expected a mapping of fields, got {type(data).__name__}"
        return None, [CatalogError(message, path=display, line=node.start_mark.line + 1)]

    errors.extend(_duplicate_keys(node, display))
    try:
        tool = Tool.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            mark = _node_mark(node, detail["loc"])
            field_name = ".".join(str(part) for part in detail["loc"]) or "<file>"
            errors.append(
                CatalogError(
                    f"{field_name}: {detail['msg']}",
                    path=display,
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            )
        return None, errors

    if tool.id != stem:
        mark = _node_mark(node, ["id"])
        errors.append(
            CatalogError(
                f"tool id {tool.id!r} does not equal the file name {stem!r}",
                path=display,
                line=mark.line + 1,
                hint=f"rename the file to {tool.id}.yaml or change the id",
            )
        )
    return (None if errors else tool), errors


def _builtin_sources() -> Iterator[_Source]:
    folder: Traversable = resources.files("rmmhunt.catalog") / "data"
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(_SUFFIXES):
            stem = entry.name.rsplit(".", 1)[0]
            display = f"rmmhunt/catalog/data/{entry.name}"
            yield _Source(display, stem, entry.read_text(encoding="utf-8"))


def _folder_sources(folder: Path) -> Iterator[_Source]:
    if not folder.is_dir():
        raise CatalogError(
            "catalog folder not found",
            path=str(folder),
            hint="pass a folder of <tool id>.yaml files to --catalog",
        )
    for path in sorted(folder.iterdir()):
        if path.suffix in _SUFFIXES and path.is_file():
            yield _read_source(path)


def _read_source(path: Path) -> _Source:
    """Read one catalog file as UTF-8, or record why it cannot be read."""
    try:
        return _Source(str(path), path.stem, path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        problem = CatalogError(
            f"not valid UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be decoded",
            path=str(path),
            offset=error.start,
            hint="save the file as UTF-8",
        )
    except OSError as error:
        problem = CatalogError(f"cannot read the file: {error.strerror}", path=str(path))
    return _Source(str(path), path.stem, "", problem)


def load_catalog(extra_dirs: Sequence[Path] = ()) -> Catalog:
    """Load the built-in catalog, then add or replace tools from each extra folder in order.

    Args:
        extra_dirs: folders of `<tool id>.yaml` files, as given with `--catalog`.

    Returns:
        The validated catalog.

    Raises:
        CatalogError: an extra folder does not exist.
        CatalogValidationError: any file is invalid. It lists every problem found.
    """
    tools: dict[str, Tool] = {}
    sources: dict[str, str] = {}
    problems: list[CatalogError] = []

    groups: list[Iterator[_Source]] = [_builtin_sources()]
    groups.extend(_folder_sources(Path(folder)) for folder in extra_dirs)
    for group in groups:
        seen_in_group: dict[str, str] = {}
        for source in group:
            if source.problem is not None:
                problems.append(source.problem)
                continue
            tool, errors = parse_tool(source.text, source.display, source.stem)
            problems.extend(errors)
            if tool is None:
                continue

            if tool.id in seen_in_group:
                problems.append(
                    CatalogError(
                        f"tool id {tool.id!r} is also defined in {seen_in_group[tool.id]}",
                        path=source.display,
                        hint="keep one file per tool id in each folder",
                    )
                )
                continue
            seen_in_group[tool.id] = source.display

            if tool.id in tools:
                logger.info("catalog file %s replaces tool %r", source.display, tool.id)
            tools[tool.id] = tool
            sources[tool.id] = source.display

    if problems:
        raise CatalogValidationError(problems)
    return Catalog(tools.values(), sources)
