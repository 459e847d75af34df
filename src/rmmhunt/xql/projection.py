"""Compile the fields stage: keep, rename and order columns, or drop them with `fields -`.

A name with `*` is a pattern that keeps every column it matches, in scope order, as the
Cortex fields reference allows (`fields *host*`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rmmhunt.xql.nodes import Column, FieldItem, FieldsStage
from rmmhunt.xql.relation import ORDER_COLUMN, Relation, check_output_name, stage_error
from rmmhunt.xql.scope import Scope

if TYPE_CHECKING:
    from rmmhunt.xql.planner import Planner


def _matching(item: FieldItem, scope: Scope) -> list[str]:
    if "*" not in item.name:
        scope.type_of(Column(item.name, pos=item.pos))
        return [item.name]

    pattern = re.compile(".*".join(re.escape(part) for part in item.name.split("*")))
    names = [name for name in scope.names() if pattern.fullmatch(name)]
    if not names:
        raise stage_error(item.pos, f"pattern {item.name!r} matches no column", "fields pattern")
    return names


def compile_fields(planner: Planner, stage: FieldsStage, relation: Relation) -> Relation:
    """Return the relation with only the listed columns, in the listed order."""
    source = relation.scope
    if stage.exclude:
        dropped = {name for item in stage.items for name in _matching(item, source)}
        kept = {name: kind for name, kind in source.columns.items() if name not in dropped}
        if not kept:
            raise stage_error(
                stage.pos,
                "the fields stage drops every column",
                "fields -",
                "keep at least one column",
            )
        selected = [planner.quote(name) for name in kept]
        scope = Scope(kept, "the output of the fields stage")
    else:
        selected, scope = _include(planner, stage, source)

    if relation.ordered:
        selected.append(planner.quote(ORDER_COLUMN))
    sql = f"SELECT {', '.join(selected)} FROM {relation.cte}"
    return Relation(planner.add_cte(sql), scope, relation.ordered)


def _include(planner: Planner, stage: FieldsStage, source: Scope) -> tuple[list[str], Scope]:
    selected: list[str] = []
    columns: dict[str, str] = {}
    for item in stage.items:
        for name in _matching(item, source):
            output = item.alias or name
            check_output_name(output, item.pos, "fields ... as")
            if output in columns:
                raise stage_error(
                    item.pos,
                    f"column {output!r} appears twice in the fields stage",
                    f"column {output!r}",
                    "list each column once, or rename one with 'as'",
                )
            columns[output] = source.columns[name]
            text = planner.quote(name)
            selected.append(f"{text} AS {planner.quote(output)}" if item.alias else text)
    return selected, Scope(columns, "the output of the fields stage")
