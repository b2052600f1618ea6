"""Org trees for the tests, written as the tree they are: ``{"C1 郑州市": {"D1 金水区": [...]}}``.

Each node is ``"<code> <name>"``; its level is its depth (city, district, street, community), its
parent the node it is nested in. :func:`add_org_tree` adds the nodes to a registry, parents first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from registry.store import Registry

Tree = Mapping[str, "Tree"] | Sequence[str]
OrgRow = tuple[str, str, str, str | None]
LEVELS = ("city", "district", "street", "community")


def org_rows(tree: Tree, parent: str | None = None, depth: int = 0) -> list[OrgRow]:
    """``tree`` as ``(code, name, level, parent)`` rows, each parent before its children."""
    nodes: Sequence[tuple[str, Tree]] = list(tree.items()) if isinstance(tree, Mapping) else [(n, ()) for n in tree]
    rows: list[OrgRow] = []
    for node, children in nodes:
        code, name = node.split(" ", 1)
        rows.append((code, name, LEVELS[depth], parent))
        rows += org_rows(children, code, depth + 1)
    return rows


async def add_org_tree(registry: Registry, tree: Tree) -> None:
    for code, name, level, parent in org_rows(tree):
        await registry.add_org_node(code, name, level, parent)
