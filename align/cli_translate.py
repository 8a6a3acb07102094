"""``align fit | translate | evaluate``: train a translator between two EmbeddingSet files and score it.

Rows of the source and target files are paired by id (``EmbeddingSet.ids``), not by position. A model
folder holds the saved aligner (``aligner.json`` + ``aligner.safetensors``) and ``fit_info.json``
(method, the files and models it was fitted on, the training ids), so ``evaluate`` scores held-out
ids only unless told otherwise.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ._validate import check_output_file, check_output_folder, parse_key_value
from .base import BaseAligner
from .embeddings import EmbeddingSet, pair_rows
from .exceptions import CorruptFileError, ShapeError, ValidationError
from .io import atomic_write_json
from .metrics import translation_ci, translation_items
from .report import text_table
from .supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator

FIT_INFO = "fit_info.json"


def _methods():
    return {"linear": LinearTranslator, "procrustes": ProcrustesTranslator, "mlp": MLPTranslator}


def _load_set(path, role):
    if not Path(path).exists():
        raise ValidationError(f"--{role}: {path} does not exist")
    return EmbeddingSet.load(path)


def pair_by_id(source, target, *, intersect: bool = False):
    """Rows of two EmbeddingSets matched by id → ``(X (n, d_x), Y (n, d_y), ids)`` in source order.

    Raises ValidationError when the id sets differ, unless ``intersect`` (then the common ids are used).
    """
    return pair_rows(source, target, intersect=intersect, names=("source", "target"),
                     hint=" (pass --intersect to use only the common ids)")


def _parse_params(items) -> dict:
    return dict(parse_key_value(item, f"--param expects key=value; got {item!r}") for item in items or ())


def _describe(es, path):
    return {"path": str(path), "model": es.model, "layer": es.layer, "pooling": es.pooling, "dim": es.dim}


def cmd_fit(args) -> int:
    """``align fit``: fit a supervised translator on rows paired by id and save it with ``fit_info.json``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``fit`` arguments (source, target, method, param, pairs, seed, intersect, out).

    Returns
    -------
    int
        Exit code 0.

    Raises
    ------
    ValidationError
        For a bad ``--pairs`` or ``--param``, or ids that do not pair.
    """
    check_output_folder(args.out, "--out")  # before any work: a file in the way fails now, not after the fit
    source, target = _load_set(args.source, "source"), _load_set(args.target, "target")
    X, Y, ids = pair_by_id(source, target, intersect=args.intersect)
    if args.pairs is not None:
        if args.pairs < 1:
            raise ValidationError(f"--pairs must be >= 1; got {args.pairs}")
        if args.pairs > len(ids):
            raise ValidationError(f"--pairs {args.pairs} but only {len(ids)} paired rows are available")
        pick = np.sort(np.random.default_rng(args.seed).permutation(len(ids))[:args.pairs])
        X, Y, ids = X[pick], Y[pick], [ids[i] for i in pick]
    cls = _methods()[args.method]
    params = _parse_params(args.param)
    if "random_state" in cls._param_names() and not {"random_state", "seed"} & set(params):
        params["random_state"] = args.seed
    if "device" in cls._param_names() and "device" not in params:
        params["device"] = args.device
    model = cls().set_params(**params)
    t0 = time.perf_counter()
    model.fit(X, Y)
    fit_s = time.perf_counter() - t0
    out = model.save(args.out)
    atomic_write_json(Path(out) / FIT_INFO, {
        "method": args.method, "params": model.get_params(), "seed": args.seed, "n_pairs": len(ids),
        "fit_s": round(fit_s, 3), "source": _describe(source, args.source),
        "target": _describe(target, args.target), "train_ids": ids})
    print(f"fitted {type(model).__name__} on {len(ids)} pairs ({X.shape[1]} → {Y.shape[1]} dims) in "
          f"{fit_s:.2f} s; wrote {out}")
    return 0


def _load_model(folder):
    model = BaseAligner.load(folder)
    info_path = Path(folder) / FIT_INFO
    info = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise CorruptFileError(f"{info_path} is not valid JSON ({e})") from None
    return model, info


def _check_dims(model, X, what):
    if X.shape[1] != model.n_features_in_:
        raise ShapeError(f"{what} has {X.shape[1]}-d vectors but the model translates "
                         f"{model.n_features_in_}-d vectors into {model.n_features_out_}-d ones")


def _note_model(info, es, role):
    fitted = (info.get(role) or {}).get("model")
    if fitted and es.model and fitted != es.model:
        print(f"note: the model was fitted on {role} vectors from {fitted!r}, this file holds {es.model!r}",
              file=sys.stderr)


def cmd_translate(args) -> int:
    """``align translate``: map an EmbeddingSet through a saved translator and save the result.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``translate`` arguments (model, input, out).

    Returns
    -------
    int
        Exit code 0.

    Raises
    ------
    ShapeError
        If the input's dimension is not the model's input dimension.
    ValidationError
        If ``--out`` is the input file (it would be overwritten).
    """
    if Path(args.out).resolve() == Path(args.input).resolve():
        raise ValidationError(f"--out {args.out} is the input file; write the translation to another path")
    check_output_file(args.out)
    model, info = _load_model(args.model)
    es = _load_set(args.input, "input")
    _check_dims(model, es.vectors, args.input)
    _note_model(info, es, "source")
    target = info.get("target") or {}
    out = EmbeddingSet(model.transform(es.vectors), es.ids, es.texts, es.labels,
                       model=target.get("model"), layer=target.get("layer"), pooling=target.get("pooling"),
                       meta={"translated_from": es.model, "translated_by": str(args.model),
                             "aligner": type(model).__name__})
    path = out.save(args.out)
    print(f"wrote {path} ({len(out)} x {out.dim}, translated from {es.model or '?'} "
          f"by {type(model).__name__})")
    return 0


def cmd_evaluate(args) -> int:
    """``align evaluate``: retrieval scores of a saved translator on paired files, with bootstrap CIs.

    Training ids recorded in ``fit_info.json`` are left out unless ``--include-train``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``evaluate`` arguments.

    Returns
    -------
    int
        Exit code 0 (a table is printed; ``--json`` also writes the scores).

    Raises
    ------
    ShapeError
        If the files' dimensions do not match the model.
    ValidationError
        If fewer than two rows remain, or ``--ks`` is malformed.
    """
    model, info = _load_model(args.model)
    source, target = _load_set(args.source, "source"), _load_set(args.target, "target")
    X, Y, ids = pair_by_id(source, target, intersect=args.intersect)
    _check_dims(model, X, args.source)
    if Y.shape[1] != model.n_features_out_:
        raise ShapeError(f"{args.target} has {Y.shape[1]}-d vectors but the model outputs "
                         f"{model.n_features_out_}-d vectors")
    _note_model(info, source, "source")
    _note_model(info, target, "target")
    excluded = 0
    if not args.include_train and info.get("train_ids"):
        train = set(info["train_ids"])
        keep = np.array([i not in train for i in ids])
        excluded = int((~keep).sum())
        X, Y, ids = X[keep], Y[keep], [i for i, k in zip(ids, keep) if k]
        if len(ids) < 2:
            raise ValidationError(f"only {len(ids)} of the paired rows were not used for training; evaluate "
                                  "on other rows or pass --include-train")
    ks = _parse_ks(args.ks)
    csls_k = args.csls_k or None
    items = translation_items(model.transform(X), Y, csls_k=csls_k, gallery_size=args.gallery_size,
                              seed=args.seed)
    ci = translation_ci(items, ks, n_boot=args.n_boot, seed=args.seed)
    gallery = len(ids) if args.gallery_size is None else min(args.gallery_size, len(ids))
    rows = [{"metric": k, "value": v["value"], "ci95_low": v["low"], "ci95_high": v["high"]} for k, v in ci.items()]
    print(f"{type(model).__name__}: {len(ids)} items, gallery of {gallery} per item"
          + (f", {excluded} training ids left out" if excluded else "")
          + f"; chance top-1 = {1 / gallery:.4f}")
    print(text_table(rows, ["metric", "value", "ci95_low", "ci95_high"]))
    if args.json:
        atomic_write_json(args.json, {"model": str(args.model), "n_items": len(ids), "gallery_size": gallery,
                                      "excluded_train": excluded, "scores": ci})
        print(f"wrote {args.json}")
    return 0


def _parse_ks(text):
    try:
        ks = tuple(int(k) for k in str(text).split(",") if k.strip())
    except ValueError:
        raise ValidationError(f"--ks expects comma-separated integers; got {text!r}") from None
    if not ks or min(ks) < 1:
        raise ValidationError(f"--ks expects positive integers; got {text!r}")
    return ks
