"""What a Python source imports, read with :mod:`ast`: the one walker behind the layering tests.

Imports inside functions count as much as those at the top, and so do
``importlib.import_module`` and ``__import__`` calls with a literal name.
``from a import b`` names ``a`` and ``a.b`` (``b`` may be a submodule);
relative imports stay inside their own package and are not reported.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__"):
            return [node.args[0].value]
    return []


def imported_modules(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """``(line, module)`` of every module ``source`` imports, in walk order."""
    return [(getattr(node, "lineno", 0), module)
            for node in ast.walk(ast.parse(source, filename)) for module in _imported(node)]


def is_within(module: str, packages: Sequence[str]) -> bool:
    """Whether ``module`` is one of ``packages`` or inside one (``a.b`` is within ``a``)."""
    return any(module == p or module.startswith(p + ".") for p in packages)


def forbidden_imports(source: str, packages: Sequence[str],
                      filename: str = "<string>") -> list[tuple[int, str]]:
    """``(line, module)`` of each statement importing from ``packages``: its first such name."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        hits = [m for m in _imported(node) if is_within(m, packages)]
        if hits:
            found.append((getattr(node, "lineno", 0), hits[0]))
    return sorted(found)
