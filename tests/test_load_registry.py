"""BaseAligner.load in a fresh process finds the saved class itself (issue 15, item 2)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from align.base import BaseAligner
from align.exceptions import CorruptFileError
from align.supervised import ProcrustesTranslator

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def saved(tmp_path):
    X = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    return ProcrustesTranslator().fit(X, X[:, ::-1].copy()).save(tmp_path / "proc")


def test_fresh_process_loads_without_importing_the_estimators(saved):
    r = _fresh(f"from align.base import BaseAligner; print(type(BaseAligner.load({str(saved)!r})).__name__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ProcrustesTranslator"


def test_files_without_a_module_entry_still_load_in_a_fresh_process(saved):
    meta = json.loads((saved / "aligner.json").read_text())
    assert meta["module"] == "align.supervised.procrustes"
    del meta["module"]
    (saved / "aligner.json").write_text(json.dumps(meta))
    r = _fresh(f"from align.base import BaseAligner; print(type(BaseAligner.load({str(saved)!r})).__name__)")
    assert r.returncode == 0 and r.stdout.strip() == "ProcrustesTranslator", r.stderr


def test_a_module_outside_align_is_not_imported(saved):
    meta = json.loads((saved / "aligner.json").read_text())
    meta.update({"class": "Evil", "module": "antigravity"})
    (saved / "aligner.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="not an align aligner"):
        BaseAligner.load(saved)
    assert "antigravity" not in sys.modules
