"""The one YAML loader for configuration files: safe types, no anchors or aliases, a size cap.

Inventory, catalog, field map, hunt and column mapping files are short and written by hand, so
they need neither anchors (`&name`) nor aliases (`*name`). Rejecting both removes alias expansion,
in which a file of a few hundred bytes expands into millions of nodes. The size cap bounds the
memory that one file can take, because PyYAML keeps the whole file and its node tree in memory.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_YAML_BYTES", "YamlLimitError", "compose_yaml", "error_hint", "load_yaml"]

# 16 MiB leaves ample room: the built-in catalog's tool files total about 44 KB.
MAX_YAML_BYTES = 16 * 1024 * 1024


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML text that uses an anchor or alias, or that is larger than `MAX_YAML_BYTES`."""


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with anchors and aliases rejected and date errors located."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # Every node starts with an event that carries its anchor, and an alias event names one.
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None) is not None:
            raise YamlLimitError(
                problem="anchors and aliases (&name, *name) are not allowed",
                problem_mark=event.start_mark,
                note="write each value out in full",
            )
        return super().compose_node(parent, index)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # PyYAML's pattern accepts 2025-02-30 and T24:00, and `datetime` then raises ValueError.
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as error:
            raise yaml.constructor.ConstructorError(
                problem=f"invalid date or time {node.value!r}: {error}",
                problem_mark=node.start_mark,
                note="write a date that exists, as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
            ) from None


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _ConfigLoader.construct_yaml_timestamp)


def compose_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse one YAML document into its node tree, for line numbers, and its Python value.

    Returns:
        The root node and the value, or `(None, None)` for an empty document.

    Raises:
        YamlLimitError: the text is larger than `MAX_YAML_BYTES`, or uses an anchor or alias.
        yaml.MarkedYAMLError: the text is invalid YAML, or a date in it does not exist.
        RecursionError: the collections are nested too deeply for PyYAML's recursive composer.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(
            problem=f"the file is {size} bytes, more than the limit of {MAX_YAML_BYTES} bytes "
            "(16 MiB) for a YAML file",
            note="split the file, or remove what it does not need",
        )

    loader = _ConfigLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def load_yaml(text: str) -> Any:
    """Parse one YAML document into its Python value, with the checks of `compose_yaml`."""
    return compose_yaml(text)[1]


def error_hint(error: yaml.YAMLError, default: str) -> str:
    """Return what to do about a YAML error: the loader's own note, else `default`."""
    note = getattr(error, "note", None)
    return note if isinstance(note, str) and note else default
