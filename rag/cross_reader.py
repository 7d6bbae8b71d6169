"""`CrossReader`: the bundled encoder reading a question and a candidate sentence together, for the short answer.

The bundled all-MiniLM-L6-v2 with LoRA adapters and a start/end head, fitted by `scripts/train_cross_reader.py`
on the 20 SQuAD v1.1 dev training articles, reads "[CLS] question [SEP] sentence [SEP]" and scores every token as
the answer's first and last. Scoring "no answer" on the [CLS] token, as SQuAD 2.0 readers do, it also says how
strongly the sentence answers the question (best span score minus the no-answer score). The adapters ship as
`cross_reader.npz` (float16, no pickle, about 1.3 MB); the merged model is exported once to ONNX (with torch,
like the encoder, `onnx_encoder.export_module`) into `<cache>/onnx/reader-<adapters sha256>-<base>-v<N>/`, so
reading never imports torch. Sentences longer than `MAX_TOKENS` with the question are cut.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .model_files import BUNDLED_SHA256, FileHashes, bundled_model_folder, cache_root, verify_files

ADAPTERS_FILE = Path(__file__).with_name("cross_reader.npz")
EXPORT_VERSION = 1
# Question and sentence together: 99.2% of the training questions with their gold sentence fit (p50 50, p99 147).
MAX_TOKENS = 160
MAX_ANSWER_TOKENS = 30  # longest short answer considered, in tokens (SQuAD readers' usual bound)
RANK, ALPHA = 16, 32  # LoRA rank and scale (scripts/train_cross_reader.py trains with these)


@dataclass(frozen=True)
class CrossReading:
    """One sentence read with the question: the best answer's score minus no-answer's, and its characters."""

    score: float
    start: int
    end: int


def adapters_version(path: Path = ADAPTERS_FILE) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class CrossReader:
    def __init__(self, adapters: Path = ADAPTERS_FILE, cache_dir: Path | None = None):
        self.adapters = Path(adapters)
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root()
        self.version = adapters_version(self.adapters)
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._session is None:
                from tokenizers import Tokenizer

                from .onnx_encoder import _session

                folder = bundled_model_folder()
                verify_files(folder, BUNDLED_SHA256, FileHashes(self.cache_dir))
                base = BUNDLED_SHA256["model.safetensors"][:16]
                target = self.cache_dir / "onnx" / f"reader-{self.version}-{base}-v{EXPORT_VERSION}"
                if not (target / "model.onnx").is_file():
                    export(folder, self.adapters, target)
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.no_padding()
                # The longer of question and sentence is cut first: a question longer than MAX_TOKENS is read too
                # (the sentence alone was cut before, as in training, and a long question made tokenizers fail).
                tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
                self._tokenizer = tokenizer
                self._session = _session(target)
        return self._session, self._tokenizer

    def read(self, question: str, sentences: list[str]) -> list[CrossReading]:
        """Each sentence's reading (answer characters are offsets into that sentence)."""
        if not sentences:
            return []
        session, tokenizer = self.load()
        encodings = tokenizer.encode_batch([(question, s) for s in sentences])
        # One run per sentence, unpadded: on 2 cores five seed-index sentences read in 43 ms this way, 55 ms as one
        # batch padded to the longest (same outputs).
        out = []
        for e in encodings:
            tokens = np.array([i for i, s in enumerate(e.sequence_ids) if s == 1])
            if not len(tokens):
                out.append(CrossReading(-1e9, 0, 0))
                continue
            ids = np.asarray([e.ids], dtype=np.int64)
            (starts,), (ends,) = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                                    "token_type_ids": np.asarray([e.type_ids], dtype=np.int64)})
            score, a, b = best_answer(starts[tokens], ends[tokens])
            null = float(starts[0] + ends[0])
            out.append(CrossReading(score - null, e.offsets[tokens[a]][0], e.offsets[tokens[b]][1]))
        return out


def best_answer(starts: np.ndarray, ends: np.ndarray) -> tuple[float, int, int]:
    """The best answer over one sentence's tokens: its score (start + end logit) and first and last token, the
    last no earlier than the first and fewer than MAX_ANSWER_TOKENS after it."""
    pair = starts[:, None] + ends[None, :]
    ones = np.ones(pair.shape, dtype=bool)
    pair = np.where(np.triu(ones) & ~np.triu(ones, MAX_ANSWER_TOKENS), pair, -np.inf)
    a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
    return float(pair[a, b]), int(a), int(b)


def lora_weights(adapters: Path) -> dict[str, np.ndarray]:
    """The adapter file's arrays (float32)."""
    with np.load(adapters, allow_pickle=False) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


def export(folder: Path, adapters: Path, target: Path) -> Path:
    """The bundled transformer with the adapters merged into its weights and the start/end head, to ONNX."""
    import torch

    from .onnx_encoder import export_module, load_transformer

    model = load_transformer(folder)
    arrays = lora_weights(adapters)
    with torch.no_grad():
        for name, module in model.named_modules():
            a, b = arrays.get(f"base.{name}.a"), arrays.get(f"base.{name}.b")
            if a is not None and b is not None:
                module.weight += torch.from_numpy(b @ a * (ALPHA / RANK))
    head = torch.nn.Linear(model.config.hidden_size, 2)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(arrays["head.weight"]))
        head.bias.copy_(torch.from_numpy(arrays["head.bias"]))

    class StartEnd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model, self.head = model, head

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.model(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
            logits = self.head(h)
            return logits[..., 0], logits[..., 1]

    sample = (torch.tensor([[101, 2040, 102, 7592, 2088, 102], [101, 2040, 102, 7592, 102, 0]]),
              torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]]),
              torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0]]))
    return export_module(StartEnd().eval(), sample, target, ["start_logits", "end_logits"])


@lru_cache(maxsize=2)
def default_cross_reader(adapters: str = str(ADAPTERS_FILE)) -> CrossReader | None:
    """The shipped cross reader, or None when the package has no adapters file."""
    return CrossReader(Path(adapters)) if Path(adapters).is_file() else None
