"""Build a tiny sentence-transformers model on disk, with no network: a 2-layer BERT with random weights and a
WordPiece vocabulary trained on the given sentences. Its embeddings mean nothing, but it runs through exactly the
code path a real model folder does (SentenceTransformer(folder) -> FAISS), which is what the tests need.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_model(folder: Path, sentences: list[str], dimension: int = 32) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    folder = Path(folder)
    raw = folder / "bert"
    raw.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(sentences, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=special))
    from tokenizers.processors import TemplateProcessing

    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")), ("[SEP]", tokenizer.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", model_max_length=256)
    fast.save_pretrained(raw)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=dimension, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=dimension * 2, max_position_embeddings=256)
    BertModel(config).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=256)
    model = SentenceTransformer(modules=[transformer, Pooling(dimension, "mean"), Normalize()], device="cpu")
    out = folder / "model"
    model.save(str(out))
    return out
