import gzip

import numpy as np
import pytest

from align import corpora
from align.exceptions import DataNotAvailableError, ValidationError


def test_kjv_is_large_and_labelled():
    c = corpora.kjv()
    assert len(c) == 31103 and c.ids[0] == "Genesis 1:1"
    assert c.texts[0].startswith("In the beginning God created")
    assert c.labels[0] == "law" and c.labels[-1] == "apocalyptic"
    assert len(set(c.labels)) == 10
    assert corpora.kjv(limit=5).texts == c.texts[:5]


def test_parallel_bible_is_aligned():
    p = corpora.bible_parallel("ny")
    assert len(p) > 31000 and p.languages == ("en", "ny")
    i = p.ids.index("Genesis 1:1")
    assert "God created" in p.source[i] and "Mulungu" in p.target[i]
    assert all(s and t for s, t in zip(p.source, p.target))
    with pytest.raises(DataNotAvailableError, match="Chichewa"):
        corpora.bible_parallel("de")


def test_disjoint_split_shares_no_strings():
    texts = ["dup"] * 50 + [f"t{i}" for i in range(300)] + ["dup2"] * 10
    s = corpora.disjoint_split(texts, 100, 100, 50, seed=3)
    parts = [{texts[i] for i in idx} for idx in (s.pool_a, s.pool_b, s.eval)]
    assert [len(x) for x in parts] == [100, 100, 50]  # duplicates collapsed: every row a distinct string
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    again = corpora.disjoint_split(texts, 100, 100, 50, seed=3)
    np.testing.assert_array_equal(s.pool_a, again.pool_a)
    with pytest.raises(ValidationError, match="distinct strings"):
        corpora.disjoint_split(texts, 300, 10, 0)
    with pytest.raises(ValidationError):
        corpora.disjoint_split(texts, 0)


def test_disjoint_split_on_kjv():
    c = corpora.kjv()
    s = corpora.disjoint_split(c.texts, 5000, 5000, 1000)
    a, b, e = ({c.texts[i] for i in idx} for idx in (s.pool_a, s.pool_b, s.eval))
    assert len(a) == 5000 and not (a & b) and not (a & e) and not (b & e)


def _b64(n):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    s = ""
    while True:
        s = alphabet[n % 64] + s
        n //= 64
        if not n:
            return s


def test_dictionary_parser_on_a_small_dictd_file(tmp_path):
    entries = ["cat /kæt/ <n>\n1. chat, chatte\n2. félin (zool.)\n", "dog /dɒg/\nchien\n",
               "ice cream\nglace [dessert]\n"]
    blob, index, off = b"", [], 0
    for head, e in zip(["cat", "dog", "ice cream"], entries):
        raw = e.encode()
        index.append(f"{head}\t{_b64(off)}\t{_b64(len(raw))}")
        blob += raw
        off += len(raw)
    (tmp_path / "freedict-eng-fra.index").write_text("00databaseinfo\tA\tB\n" + "\n".join(index) + "\n")
    with gzip.open(tmp_path / "freedict-eng-fra.dict.dz", "wb") as f:
        f.write(blob)
    pairs = corpora.dictionary("eng-fra", root=str(tmp_path))
    assert pairs == [("cat", "chat"), ("cat", "chatte"), ("cat", "félin"), ("dog", "chien")]
    multi = corpora.dictionary("eng-fra", root=str(tmp_path), single_words=False)
    assert ("ice cream", "glace") in multi


def test_missing_debian_data_says_how_to_install(tmp_path):
    with pytest.raises(DataNotAvailableError, match="apt-get install dict-freedict-eng-fra"):
        corpora.dictionary("eng-fra", root=str(tmp_path))
    with pytest.raises(DataNotAvailableError, match="wordnet-base"):
        corpora.wordnet_glosses(root=str(tmp_path))


def test_wordnet_glosses_when_installed():
    try:
        w = corpora.wordnet_glosses()
    except DataNotAvailableError:
        pytest.skip("wordnet-base not installed")
    assert len(w) > 100000 and w.ids[0] == "n:00001740" and w.labels[0] == "noun.Tops"
    assert "noun.animal" in set(w.labels) and len(w.meta["lemmas"]) == len(w)


def test_real_dictionary_when_installed():
    try:
        pairs = corpora.dictionary("eng-fra")
    except DataNotAvailableError:
        pytest.skip("dict-freedict-eng-fra not installed")
    assert len(pairs) > 10000 and ("cat", "chat") in pairs
