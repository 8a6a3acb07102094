import subprocess
import sys

import numpy as np
import pytest

from align import EmbeddingSet
from align.cli import build_parser, main, recipe_flags_to_sets


def test_models_lists_encoders(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "minilm-l6" in out and "smollm2-135m" in out and "installed" in out


@pytest.mark.parametrize("cmd", [[], ["models"], ["embed"], ["recipe"]])
def test_help_everywhere(cmd):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(cmd + ["--help"])
    assert e.value.code == 0


@pytest.mark.models
def test_embed_a_text_file(tmp_path, capsys):
    src = tmp_path / "words.txt"
    src.write_text("king\nqueen\n\ncarrot\n")
    out = tmp_path / "w.safetensors"
    assert main(["embed", "--model", "glove-en-50d", "--file", str(src), "--out", str(out)]) == 0
    es = EmbeddingSet.load(out)
    assert es.vectors.shape == (3, 50) and es.texts == ["king", "queen", "carrot"]
    assert main(["embed", "--model", "glove-en-50d", "--corpus", "kjv", "--limit", "5",
                 "--out", str(tmp_path / "k.npz")]) == 0
    k = EmbeddingSet.load(tmp_path / "k.npz")
    assert k.ids[0] == "Genesis 1:1" and k.labels[0] == "law" and np.isfinite(k.vectors).all()


@pytest.mark.parametrize("argv, message", [
    (["embed", "--model", "nope", "--file", "x.txt", "--out", "o.npz"], "cannot read"),
    (["embed", "--model", "nope", "--corpus", "kjv", "--out", "o.npz"], "unknown encoder"),
    (["embed", "--model", "glove-en-50d", "--corpus", "kjv", "--out", "o.pkl"], "must end in"),
    (["embed", "--model", "glove-en-50d", "--corpus", "kjv", "--limit", "0", "--out", "o.npz"], "--limit"),
    (["recipe", "nope"], "unknown recipe"),
    (["recipe", "paired_vs_unpaired", "--set", "n_train"], "key=value"),
    (["recipe", "paired_vs_unpaired", "--set", "bogus=1"], "unknown config key"),
    (["recipe", "paired_vs_unpaired", "--set", "n_train=many"], "expects int"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_argparse_errors_are_one_line():
    r = subprocess.run([sys.executable, "-m", "align.cli", "embed", "--model", "x"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "required" in r.stderr


def test_recipe_flags_are_config_overrides():
    assert recipe_flags_to_sets(["recipe", "platonic_convergence", "--layers", "all", "--n-texts=500",
                                 "--set", "k=5"]) == \
        ["recipe", "platonic_convergence", "--set", "layers=all", "--set", "n_texts=500", "--set", "k=5"]
    assert recipe_flags_to_sets(["embed", "--model", "x"]) == ["embed", "--model", "x"]
    assert recipe_flags_to_sets(["recipe", "x", "--set=k=5", "--help"]) == ["recipe", "x", "--set=k=5", "--help"]


def test_recipe_unknown_flag_is_a_one_line_error(capsys):
    assert main(["recipe", "platonic_convergence", "--no-such-key", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("align: error:") and "no_such_key" in err and len(err.strip().splitlines()) == 1


def test_help_and_parsing_import_nothing_heavy():
    code = ("import sys; from align.cli import build_parser; build_parser().parse_args(['compare', 'a', 'b']); "
            "print(sorted(m for m in ('torch', 'numpy', 'transformers', 'pyarrow', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)


def test_parser_lists_match_the_registries():
    from align.cli_parsers import METRIC_NAMES, TRANSLATORS
    from align.cli_translate import _methods
    from align.metrics import SIMILARITY
    assert set(METRIC_NAMES) == set(SIMILARITY) and set(TRANSLATORS) == set(_methods())


def test_recipe_help_lists_config_keys_with_defaults_and_docs(capsys):
    assert main(["recipe", "align_unshared", "--help"]) == 0
    out = capsys.readouterr().out
    assert "config keys:" in out and "--n_pool" in out and "default 5000" in out
    assert "strings per side for the method comparison" in out
    assert main(["recipe", "nope", "-h"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
