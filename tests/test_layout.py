"""The house rules of ARCHITECTURE.md, checked on the source tree itself.

- no import loop among ``align``'s modules (module-level and function-level imports alike);
- no function-level import, except deliberate lazy imports of optional or heavy dependencies,
  each marked with a same-line ``# lazy:`` comment that says why;
- every Python file of the package, the kernels and the recipes under 400 lines.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "align"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _targets(mod: str, path: Path, node, mods: dict) -> set[str]:
    """The ``align`` modules an import statement in ``mod`` names (a name imported from a package
    counts as the submodule when one of that name exists)."""
    if isinstance(node, ast.ImportFrom):
        base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        if node.level:
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" for a in node.names] + [target]
    else:
        names = [a.name for a in node.names]
    out = set()
    for name in names:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        if name and name != mod and name.split(".")[0] == "align":
            out.add(name)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[mod] |= _targets(mod, path, node, mods)
    # a submodule importing its own package's __init__ uses the package's face, not a loop
    for mod in graph:
        graph[mod] = {t for t in graph[mod] if not (mods[t].name == "__init__.py" and mod.startswith(t + "."))}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_planted_loop():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _function_level_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner.lineno, lines[inner.lineno - 1]


def test_function_level_imports_are_marked_lazy():
    bad = []
    for path in sorted(list(PKG.rglob("*.py")) + list((ROOT / "cuda_kernels").rglob("*.py"))):
        for lineno, line in _function_level_imports(path):
            comment = line.partition("#")[2].strip()
            if not comment.startswith("lazy:") or len(comment) < len("lazy: ") + 3:
                bad.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not bad, "function-level imports without a '# lazy: why' comment:\n" + "\n".join(bad)


@pytest.mark.parametrize("folder", ["align", "cuda_kernels", "recipes"])
def test_files_under_400_lines(folder):
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in sorted((ROOT / folder).rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) >= MAX_LINES]
    assert not big, f"files of {MAX_LINES} lines or more: {', '.join(big)}"
