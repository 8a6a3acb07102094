"""The README and docs/ stay short, truthful and runnable.

- README.md is at most 200 lines and opens with the two commands (`make demo`, `make test`);
- every relative link in README.md and docs/ points at a file or folder of the repo;
- no file in align/, recipes/, bench/, docs/ or README.md cites a .md/.py file that is not in the repo;
- every ```python block of README.md runs (blocks whose first line is `# needs: models` only when
  the `models` marker is selected explicitly, e.g. `pytest -m models`).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))

# Names that look like file names but are not files of this repo: run outputs and files of
# installed packages.
EXTERNAL = {"report.md", "setup.py", "__init__.py", "conftest.py"}
TOKEN = re.compile(r"(?<![\w/.-])([\w][\w/.-]*\.(?:md|py))\b")
URL = re.compile(r"[a-z]+://\S+")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
SKIP_DIRS = {".git", ".venv", "runs", "__pycache__", ".pytest_cache", "node_modules"}


def _repo_files() -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        out += [Path(dirpath) / f for f in filenames]
    return out


FILES = _repo_files()
BASENAMES = {p.name for p in FILES}


def _cited_files() -> list[Path]:
    roots = [ROOT / "align", ROOT / "recipes", ROOT / "bench", ROOT / "docs"]
    files = [p for p in FILES if p.suffix in (".py", ".md") and any(r in p.parents for r in roots)]
    return sorted(files) + [README]


def _exists(token: str, where: Path) -> bool:
    if "/" not in token:
        return token in BASENAMES
    return (ROOT / token).exists() or (where.parent / token).exists()


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines (at most 200)"
    head = "\n".join(lines[:30])
    assert "make demo" in head and "make test" in head


def test_readme_sections_appear_once():
    headings = [ln.lstrip("#").strip().lower() for ln in README.read_text(encoding="utf-8").splitlines()
                if ln.startswith("#")]
    for word in ("search", "command line"):
        hits = [h for h in headings if word in h]
        assert len(hits) <= 1, f"{word!r} heads {len(hits)} README sections: {hits}"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_exist(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_no_citation_of_a_missing_file():
    missing = []
    for path in _cited_files():
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for token in TOKEN.findall(URL.sub("", line)):
                name = token.rsplit("/", 1)[-1]
                if name in EXTERNAL or _exists(token, path):
                    continue
                missing.append(f"{path.relative_to(ROOT)}:{n}: {token}")
    assert not missing, "files cited but not in the repo:\n" + "\n".join(missing)


def _readme_blocks():
    blocks = FENCE.findall(README.read_text(encoding="utf-8"))
    return [(i, b, b.lstrip().startswith("# needs: models")) for i, b in enumerate(blocks)]


def _models_selected(config) -> bool:
    expr = config.getoption("markexpr") or ""
    return "models" in expr and "not models" not in expr


def _run(code: str, timeout: float):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


# One interpreter runs every model-free block (each in a fresh namespace): importing torch once
# keeps the whole check to a few seconds.
_DRIVER = """
import sys, traceback
blocks = {blocks!r}
failed = []
for i, code in blocks:
    try:
        exec(compile(code, f"README.md python block {{i}}", "exec"), {{"__name__": "__main__"}})
    except Exception:
        failed.append(i)
        traceback.print_exc()
sys.exit(1 if failed else 0)
"""


def test_readme_python_blocks_run():
    blocks = [(i, b) for i, b, needs_models in _readme_blocks() if not needs_models]
    assert blocks, "README.md has no runnable python block"
    proc = _run(_DRIVER.format(blocks=blocks), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


@pytest.mark.models
def test_readme_model_blocks_run(request):
    blocks = [(i, b) for i, b, needs_models in _readme_blocks() if needs_models]
    if not blocks:
        pytest.skip("no `# needs: models` block")
    if not _models_selected(request.config):
        pytest.skip("README blocks that load packaged models run only with `-m models`")
    proc = _run(_DRIVER.format(blocks=blocks), timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
