"""Content-addressed embedding cache.

A cache entry is keyed on the encoder's fingerprint (name + versions of the packages that carry its
weights), the layer, the pooling and the SHA-256 of the texts in order. Entries are EmbeddingSet
files written atomically (temp file + rename, sidecar with a checksum written last), so a killed run
leaves no entry that loads; a corrupt entry found later is reported and recomputed.

Root: ``$ALIGN_CACHE`` or ``~/.cache/align``.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from ._validate import check_output_folder, check_texts
from .embeddings import EmbeddingSet, sidecar_path
from .encoders import Encoder, load_encoder
from .exceptions import CorruptFileError, ShapeError, ValidationError
from .io import cache_root

__all__ = ["cache_root", "cache_key", "embed", "embed_layers", "texts_digest"]


def texts_digest(texts: list[str]) -> str:
    """SHA-256 of ``texts`` in order (each text length-prefixed, so boundaries count).

    Parameters
    ----------
    texts : list of str
        The texts.

    Returns
    -------
    str
        Hex digest; part of the cache key.
    """
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def cache_key(fingerprint: str, layer, pooling: str, digest: str) -> str:
    """Content address of one cache entry.

    Parameters
    ----------
    fingerprint : str
        :meth:`EncoderInfo.fingerprint` of the encoder (name and package versions).
    layer : int or None
        Hidden-state layer (None: the encoder's own output).
    pooling : str
        Pooling of per-layer states.
    digest : str
        :func:`texts_digest` of the texts.

    Returns
    -------
    str
        32 hex characters.
    """
    blob = json.dumps({"model": fingerprint, "layer": layer, "pooling": pooling, "texts": digest},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _entry_path(name: str, key: str) -> Path:
    return cache_root() / "embeddings" / name / key[:2] / f"{key}.safetensors"


def _as_encoder(model, device, batch_size) -> Encoder:
    if isinstance(model, Encoder):
        return model
    if not isinstance(model, str):
        raise ValidationError(f"model must be an encoder name or an Encoder; got {type(model).__name__}")
    return load_encoder(model, device=device, batch_size=batch_size)


def embed(texts, model, *, layer=None, pooling=None, cache: bool = True, ids=None, labels=None,
          show_progress=None, device: str = "auto", batch_size: int | None = None) -> EmbeddingSet:
    """Embed ``texts`` with ``model`` (a registered name or an :class:`Encoder`) → EmbeddingSet.

    A second call with the same model, layer, pooling and texts reads the cache and does no model
    work (the encoder's weights are not even loaded). ``ids``/``labels`` are attached to the result
    and are not part of the cache key. Pass an Encoder object to reuse loaded weights across calls.
    """
    return embed_layers(texts, model, layers=[layer], pooling=pooling, cache=cache, ids=ids, labels=labels,
                        show_progress=show_progress, device=device, batch_size=batch_size)[0]


def embed_layers(texts, model, *, layers="all", pooling=None, cache: bool = True, ids=None, labels=None,
                 show_progress=None, device: str = "auto", batch_size: int | None = None) -> list:
    """Like :func:`embed` for several layers at once (one forward pass for all missing layers).

    Returns a list of EmbeddingSet in the order of ``layers`` (``"all"`` = hidden states 0..L).
    """
    texts = check_texts(texts)
    enc = _as_encoder(model, device, batch_size)
    if isinstance(layers, str) and layers == "all":
        if enc.info.n_layers is None:
            raise ValidationError(f"encoder {enc.name!r} has no per-layer outputs")
        layers = list(range(enc.info.n_layers + 1))
    layers = [enc.check_layer(layer) for layer in layers]
    pooling = enc.check_pooling(pooling)
    for name, seq in (("ids", ids), ("labels", labels)):
        if seq is not None and len(seq) != len(texts):
            raise ShapeError(f"{name} has {len(seq)} entries but there are {len(texts)} texts")
    digest = texts_digest(texts)
    fingerprint = enc.info.fingerprint()
    meta = {"fingerprint": fingerprint, "texts_sha256": digest}
    found, missing = {}, []
    for layer in dict.fromkeys(layers):
        path = _entry_path(enc.name, cache_key(fingerprint, layer, pooling, digest))
        # the sidecar, written last, marks a complete entry (``key.json`` in caches written before
        # sidecars kept the vector file's full name)
        if cache and (sidecar_path(path).exists() or path.with_suffix(".json").exists()):
            try:
                found[layer] = EmbeddingSet.load(path).vectors
                continue
            except CorruptFileError as e:
                warnings.warn(f"align cache: ignoring a corrupt entry and recomputing ({e})", stacklevel=2)
        missing.append(layer)
    if missing:
        if cache:  # an unwritable ALIGN_CACHE fails now, not after minutes of encoding
            check_output_folder(cache_root(), "the embedding cache (ALIGN_CACHE)")
        computed = enc.encode_layers(texts, layers=missing, pooling=pooling, show_progress=show_progress)
        for layer in missing:
            found[layer] = computed[layer]
            if cache:
                path = _entry_path(enc.name, cache_key(fingerprint, layer, pooling, digest))
                EmbeddingSet(computed[layer], model=enc.name, layer=layer, pooling=pooling,
                             meta=meta).save(path)
    return [EmbeddingSet(found[layer], ids=ids, texts=texts, labels=labels, model=enc.name, layer=layer,
                         pooling=pooling, meta=dict(meta)) for layer in layers]
