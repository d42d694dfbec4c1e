"""The multi-task transformer: one pretrained encoder shared by a head per output.

Softmax heads for department, case type and sentiment, a regression head whose
continuous output is the severity score (its rounding the 1-5 label), a sigmoid head for
tags, and a token-classification head (B/I/O) for keywords, taught by the verbatim gold
keywords located in the text. Fine-tuning is progressive: linear warm-up and decay,
learning rates that shrink layer by layer towards the embeddings, optional frozen
encoder epochs first, early stopping on a validation split, class-weighted losses.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ml import taxonomy
from ml.data import model_input
from ml.evaluate import best_f1_threshold

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_DIR = "tokenizer"
ENCODER_CONFIG_DIR = "encoder"
OUTSIDE, BEGIN, INSIDE = 0, 1, 2
CLASS_FIELDS = tuple(taxonomy.SINGLE_LABEL_FIELDS)


@dataclass
class TransformerConfig:
    """Hyper-parameters of fine-tuning (written into meta.json)."""

    max_length: int = 256  # tokens; longer reports are truncated
    batch_size: int = 32
    epochs: int = 30  # an upper bound: early stopping usually ends training sooner
    # Chosen by a small sweep on the offline MiniLM base (see README): a small encoder on a
    # foreign vocabulary needs rates well above the usual 2e-5 to adapt.
    learning_rate: float = 4e-4  # for the top encoder layer
    layer_decay: float = 0.9  # each layer further down learns this much slower
    head_learning_rate: float = 2e-3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    frozen_epochs: int = 0  # gradual unfreezing: train only the heads for this many epochs
    patience: int = 3  # early stopping: epochs without improvement on validation
    validation_fraction: float = 0.1
    keyword_loss_weight: float = 0.5
    severity_loss_weight: float = 0.5
    dropout: float = 0.1
    max_steps: int | None = None  # stop after this many optimiser steps (tests, smoke runs)
    seed: int = 13
    device: str | None = None  # None: cuda when available, else cpu
    label_maps: dict = field(default_factory=dict)

    def __post_init__(self):
        if not 0 < self.validation_fraction < 0.5:
            raise ValueError("validation_fraction must be between 0 and 0.5")
        if self.batch_size < 1 or self.epochs < 1 or self.max_length < 16:
            raise ValueError("batch_size and epochs must be >= 1, max_length >= 16")


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


class MultiTaskNet(nn.Module):
    """An encoder with mean pooling and one head per output."""

    def __init__(self, encoder: nn.Module, sizes: dict[str, int], dropout: float):
        super().__init__()
        hidden = encoder.config.hidden_size
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, n) for name, n in sizes.items()})
        self.severity = nn.Linear(hidden, 1)
        self.tags = nn.Linear(hidden, len(taxonomy.TAGS))
        self.keywords = nn.Linear(hidden, 3)

    def forward(self, input_ids, attention_mask):
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = self.dropout((states * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        # The severity head predicts an offset from the middle of the scale.
        return {
            **{name: head(pooled) for name, head in self.heads.items()},
            "severity": self.severity(pooled).squeeze(-1) + 3.0,
            "tags": self.tags(pooled),
            "keywords": self.keywords(self.dropout(states)),
        }


def keyword_spans(text: str, keywords: list[str], offset: int) -> list[tuple[int, int]]:
    """Character spans (in the model input) of every whole-word occurrence of each keyword."""
    spans = []
    for keyword in keywords:
        for match in re.finditer(rf"(?<!\w){re.escape(keyword)}(?!\w)", text):
            spans.append((offset + match.start(), offset + match.end()))
    return spans


def bio_labels(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """B/I/O per token from character offsets; special tokens (0, 0) get -100 (ignored)."""
    labels = []
    previous_inside = None
    for start, end in offsets:
        if start == end:
            labels.append(-100)
            previous_inside = None
            continue
        inside = next((s for s in spans if start < s[1] and end > s[0]), None)
        if inside is None:
            labels.append(OUTSIDE)
        else:
            labels.append(INSIDE if inside == previous_inside else BEGIN)
        previous_inside = inside
    return labels


# At inference a batch holds reports at most this factor (plus 8 tokens) longer than its shortest.
PADDING_SLACK = 1.3


class Encoded:
    """Tokenised reports and their targets, ready for batching."""

    def __init__(self, tokenizer, records: list[dict], config: TransformerConfig, labelled: bool):
        self.inputs = [model_input(r) for r in records]
        encoding = tokenizer(
            self.inputs,
            truncation=True,
            max_length=config.max_length,
            return_offsets_mapping=True,
        )
        self.input_ids = encoding["input_ids"]
        self.offsets = [[tuple(o) for o in row] for row in encoding["offset_mapping"]]
        self.text_start = [
            len(x) - len(r.get("text") or "") for x, r in zip(self.inputs, records, strict=True)
        ]
        self.targets = None
        if labelled:
            maps = config.label_maps
            self.targets = {
                name: [maps[name].index(r[name]) for r in records] for name in CLASS_FIELDS
            }
            self.targets["severity"] = [float(r["severity"]) for r in records]
            self.targets["tags"] = [
                [1.0 if tag in r["tags"] else 0.0 for tag in taxonomy.TAGS] for r in records
            ]
            self.targets["keywords"] = [
                bio_labels(offsets, keyword_spans(r["text"], r["keywords"], start))
                for offsets, r, start in zip(self.offsets, records, self.text_start, strict=True)
            ]

    def __len__(self) -> int:
        return len(self.input_ids)

    def batches(self, batch_size: int, shuffle: bool, rng: random.Random | None = None):
        """Index batches of similar length (less padding); shuffled in chunks when training.

        Without shuffling (inference) a batch also ends where the next report is much longer
        than the batch's shortest, so a few long reports do not pad a whole request: with
        dynamic padding the cost is the batch size times the longest report.
        """
        order = sorted(range(len(self)), key=lambda i: len(self.input_ids[i]))
        if shuffle:
            batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
            (rng or random).shuffle(batches)
            return batches
        batches, current = [], []
        for i in order:
            if current and (
                len(current) == batch_size
                or len(self.input_ids[i]) > PADDING_SLACK * len(self.input_ids[current[0]]) + 8
            ):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def collate(self, indices: list[int], pad_id: int, device) -> dict:
        """Dynamic padding to the longest report in the batch."""
        width = max(len(self.input_ids[i]) for i in indices)
        ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(indices), width), dtype=torch.long)
        for row, i in enumerate(indices):
            n = len(self.input_ids[i])
            ids[row, :n] = torch.tensor(self.input_ids[i])
            mask[row, :n] = 1
        batch = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
        if self.targets is not None:
            for name in CLASS_FIELDS:
                batch[name] = torch.tensor([self.targets[name][i] for i in indices], device=device)
            batch["severity"] = torch.tensor(
                [self.targets["severity"][i] for i in indices], device=device
            )
            batch["tags"] = torch.tensor([self.targets["tags"][i] for i in indices], device=device)
            bio = torch.full((len(indices), width), -100, dtype=torch.long)
            for row, i in enumerate(indices):
                labels = self.targets["keywords"][i]
                bio[row, : len(labels)] = torch.tensor(labels)
            batch["keywords"] = bio.to(device)
        return batch


def _class_weights(targets: list[int], n: int, device) -> torch.Tensor:
    """Inverse square-root frequency, normalised to mean 1: imbalance handled, not inverted."""
    counts = np.bincount(targets, minlength=n).astype(float) + 1.0
    weights = 1.0 / np.sqrt(counts)
    return torch.tensor(weights / weights.mean(), dtype=torch.float, device=device)


def _parameter_groups(net: MultiTaskNet, config: TransformerConfig) -> list[dict]:
    """Discriminative learning rates: the top layer learns fastest, embeddings slowest."""
    layers = _encoder_layers(net.encoder)
    depth = len(layers)
    groups = []
    assigned = set()

    def add(params, lr):
        params = [p for p in params if p.requires_grad and id(p) not in assigned]
        assigned.update(id(p) for p in params)
        if params:
            groups.append({"params": params, "lr": lr, "weight_decay": config.weight_decay})

    for index, layer in enumerate(layers):
        add(layer.parameters(), config.learning_rate * config.layer_decay ** (depth - 1 - index))
    add(net.encoder.parameters(), config.learning_rate * config.layer_decay**depth)  # embeddings
    add(net.parameters(), config.head_learning_rate)  # the heads
    return groups


def _encoder_layers(encoder: nn.Module) -> list[nn.Module]:
    """The encoder's transformer blocks in order, found the way most HF encoders name them."""
    for module in encoder.modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            return list(module)
    return []


class TransformerModel:
    """fit / predict / save / load, the same small interface as the baseline."""

    kind = "transformer"

    def __init__(self, config: TransformerConfig | None = None, base=None):
        self.config = config or TransformerConfig()
        self.base = base  # base_models.Resolved, for training

    def _device(self) -> torch.device:
        if self.config.device:
            return torch.device(self.config.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def fit(
        self,
        records: list[dict],
        validation: list[dict] | None = None,
        progress: Callable[[dict], None] | None = None,
    ) -> TransformerModel:
        """Fine-tune on records; early-stop on validation (split off records when not given)."""
        from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

        config = self.config
        set_seed(config.seed)
        config.label_maps = {
            name: list(codes) for name, codes in taxonomy.SINGLE_LABEL_FIELDS.items()
        }
        if validation is None:
            records, validation = _validation_split(
                records, config.validation_fraction, config.seed
            )
        device = self._device()
        self.tokenizer = AutoTokenizer.from_pretrained(self.base.path)
        # Always fine-tune in float32 (mixed precision is applied per step on a GPU), whatever
        # precision the checkpoint was stored in.
        encoder = AutoModel.from_pretrained(self.base.path, dtype=torch.float32)
        sizes = {name: len(codes) for name, codes in config.label_maps.items()}
        self.net = MultiTaskNet(encoder, sizes, config.dropout).to(device)
        train_set = Encoded(self.tokenizer, records, config, labelled=True)
        valid_set = Encoded(self.tokenizer, validation, config, labelled=True)

        losses = {
            name: nn.CrossEntropyLoss(
                weight=_class_weights(train_set.targets[name], sizes[name], device)
            )
            for name in CLASS_FIELDS
        }
        tag_targets = np.array(train_set.targets["tags"])
        positives = tag_targets.sum(0)
        pos_weight = np.sqrt((len(tag_targets) - positives + 1) / (positives + 1))
        tag_loss = nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor(pos_weight, dtype=torch.float, device=device)
        )
        keyword_loss = nn.CrossEntropyLoss(ignore_index=-100)

        optimizer = torch.optim.AdamW(_parameter_groups(self.net, config))
        steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
        total_steps = steps_per_epoch * config.epochs
        if config.max_steps:
            total_steps = min(total_steps, config.max_steps)
        scheduler = get_linear_schedule_with_warmup(
            optimizer, int(config.warmup_ratio * total_steps), total_steps
        )
        use_amp = device.type == "cuda"
        amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        rng = random.Random(config.seed)
        best_score, best_state, stale, step = -math.inf, None, 0, 0
        self.history = []
        started = time.perf_counter()
        bar = tqdm(total=total_steps, desc="fine-tuning", unit="step", disable=None)
        for epoch in range(config.epochs):
            frozen = epoch < config.frozen_epochs
            for parameter in self.net.encoder.parameters():
                parameter.requires_grad = not frozen
            self.net.train()
            for indices in train_set.batches(config.batch_size, shuffle=True, rng=rng):
                batch = train_set.collate(indices, self.tokenizer.pad_token_id, device)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                    out = self.net(batch["input_ids"], batch["attention_mask"])
                loss = sum(losses[name](out[name].float(), batch[name]) for name in CLASS_FIELDS)
                loss = loss + config.severity_loss_weight * nn.functional.mse_loss(
                    out["severity"].float(), batch["severity"]
                )
                loss = loss + tag_loss(out["tags"].float(), batch["tags"])
                loss = loss + config.keyword_loss_weight * keyword_loss(
                    out["keywords"].float().reshape(-1, 3), batch["keywords"].reshape(-1)
                )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
                if progress:
                    elapsed = time.perf_counter() - started
                    progress(
                        {
                            "epoch": epoch + 1,
                            "step": step,
                            "total_steps": total_steps,
                            "loss": float(loss.item()),
                            "eta_s": elapsed / step * (total_steps - step),
                        }
                    )
                if config.max_steps and step >= config.max_steps:
                    break
            score = self._validation_score(valid_set, validation)
            self.history.append({"epoch": epoch + 1, "step": step, "validation_score": score})
            log.info("epoch %d: validation score %.4f", epoch + 1, score)
            if score > best_score:
                best_score, stale = score, 0
                best_state = copy.deepcopy(
                    {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
                )
            else:
                stale += 1
                if stale >= config.patience:
                    log.info("early stop after epoch %d", epoch + 1)
                    break
            if config.max_steps and step >= config.max_steps:
                break
        bar.close()
        self.net.load_state_dict(best_state)
        self.tag_thresholds = self._tune_tag_thresholds(valid_set)
        self.best_validation_score = best_score
        return self

    def _forward_all(self, encoded: Encoded, batch_size: int = 64) -> dict:
        """Run the network over a dataset; return numpy outputs in the dataset's order."""
        self.net.eval()
        device = next(self.net.parameters()).device
        n = len(encoded)
        collected: dict[str, list] = {}
        order = []
        use_amp = device.type == "cuda"
        with torch.inference_mode():
            for indices in encoded.batches(batch_size, shuffle=False):
                batch = encoded.collate(indices, self.tokenizer.pad_token_id, device)
                with torch.autocast(device.type, enabled=use_amp):
                    out = self.net(batch["input_ids"], batch["attention_mask"])
                order.extend(indices)
                for name in CLASS_FIELDS:
                    collected.setdefault(name, []).append(
                        torch.softmax(out[name].float(), -1).cpu().numpy()
                    )
                collected.setdefault("severity", []).append(out["severity"].float().cpu().numpy())
                collected.setdefault("tags", []).append(
                    torch.sigmoid(out["tags"].float()).cpu().numpy()
                )
                keyword_probs = torch.softmax(out["keywords"].float(), -1).cpu().numpy()
                for row, i in enumerate(indices):
                    collected.setdefault("keywords", []).append(
                        keyword_probs[row, : len(encoded.input_ids[i])]
                    )
        inverse = np.argsort(order)
        result = {}
        for name, chunks in collected.items():
            if name == "keywords":
                result[name] = [chunks[j] for j in inverse]
            else:
                result[name] = np.concatenate(chunks)[inverse]
        assert len(inverse) == n
        return result

    def _validation_score(self, encoded: Encoded, records: list[dict]) -> float:
        """Mean of department, case type and sentiment macro-F1 and severity Spearman."""
        from scipy.stats import spearmanr
        from sklearn.metrics import f1_score

        outputs = self._forward_all(encoded)
        parts = []
        for name in CLASS_FIELDS:
            predicted = outputs[name].argmax(1)
            parts.append(
                f1_score(encoded.targets[name], predicted, average="macro", zero_division=0)
            )
        rho = spearmanr(encoded.targets["severity"], outputs["severity"]).statistic
        parts.append(0.0 if np.isnan(rho) else rho)
        return float(np.mean(parts))

    def _tune_tag_thresholds(self, encoded: Encoded) -> list[float]:
        outputs = self._forward_all(encoded)
        gold = np.array(encoded.targets["tags"])
        return [best_f1_threshold(gold[:, i], outputs["tags"][:, i]) for i in range(gold.shape[1])]

    def predict(self, records: list[dict]) -> list[dict]:
        if not records:
            return []
        encoded = Encoded(self.tokenizer, records, self.config, labelled=False)
        outputs = self._forward_all(encoded, batch_size=self.config.batch_size * 2)
        maps = self.config.label_maps
        predictions = []
        for row in range(len(records)):
            prediction = {}
            for name in CLASS_FIELDS:
                probabilities = outputs[name][row]
                ranked = np.argsort(-probabilities)
                prediction[name] = {
                    "label": maps[name][ranked[0]],
                    "confidence": round(float(probabilities[ranked[0]]), 4),
                }
                if name == "department":
                    prediction[name]["top"] = [
                        [maps[name][i], round(float(probabilities[i]), 4)] for i in ranked[:3]
                    ]
            score = float(
                np.clip(outputs["severity"][row], taxonomy.SEVERITY_MIN, taxonomy.SEVERITY_MAX)
            )
            prediction["severity"] = {"label": round(score), "score": round(score, 3)}
            prediction["tags"] = sorted(
                (
                    [tag, round(float(p), 4)]
                    for tag, p, threshold in zip(
                        taxonomy.TAGS, outputs["tags"][row], self.tag_thresholds, strict=True
                    )
                    if p >= threshold
                ),
                key=lambda pair: -pair[1],
            )
            prediction["keywords"] = decode_keywords(
                encoded.inputs[row],
                encoded.offsets[row],
                outputs["keywords"][row],
                encoded.text_start[row],
            )
            predictions.append(prediction)
        return predictions

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        self.tokenizer.save_pretrained(str(directory / TOKENIZER_DIR))
        self.net.encoder.config.save_pretrained(str(directory / ENCODER_CONFIG_DIR))

    @classmethod
    def load(cls, directory: Path, meta: dict, quantize: bool = False) -> TransformerModel:
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        settings = dict(meta["config"])
        model = cls(TransformerConfig(**settings))
        model.tag_thresholds = meta["tag_thresholds"]
        model.tokenizer = AutoTokenizer.from_pretrained(str(directory / TOKENIZER_DIR))
        encoder = AutoModel.from_config(
            AutoConfig.from_pretrained(str(directory / ENCODER_CONFIG_DIR))
        )
        sizes = {name: len(codes) for name, codes in model.config.label_maps.items()}
        model.net = MultiTaskNet(encoder, sizes, model.config.dropout)
        model.net.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        model.net.to(model._device()).eval()
        if quantize and model._device().type == "cpu":
            # Dynamic int8 quantisation of the linear layers for CPU inference; torch marks
            # this API deprecated, so it is opt-in and measured (`ml bench --quantize`).
            model.net = torch.ao.quantization.quantize_dynamic(
                model.net, {nn.Linear}, dtype=torch.qint8
            )
        return model

    def config_dict(self) -> dict:
        return asdict(self.config)

    def extra_meta(self) -> dict:
        """Tag thresholds (needed to load) and the per-epoch validation history."""
        return {"tag_thresholds": self.tag_thresholds, "history": self.history}


def decode_keywords(
    text: str,
    offsets: list[tuple[int, int]],
    probabilities: np.ndarray,
    text_start: int,
    limit: int = 6,
) -> list[str]:
    """Spans tagged B/I, widened to whole words, inside the report text, best first."""
    # One vectorised argmax per report; the Python loop then visits only the tagged tokens
    # (a handful), which keeps post-processing far below the GPU's forward pass.
    labels = probabilities.argmax(axis=1)
    strength = 1.0 - probabilities[:, OUTSIDE]
    spans: list[tuple[float, int, int]] = []
    current: list | None = None
    previous = -2
    for index in np.flatnonzero(labels != OUTSIDE):
        start, end = offsets[index]
        if start == end:
            continue
        if labels[index] == INSIDE and current is not None and index == previous + 1:
            current[0] = min(current[0], float(strength[index]))
            current[2] = end
        else:
            if current:
                spans.append(tuple(current))
            current = [float(strength[index]), start, end]
        previous = index
    if current:
        spans.append(tuple(current))
    keywords: list[str] = []
    for _, start, end in sorted(spans, key=lambda s: -s[0]):
        while start > text_start and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        if start < text_start:
            continue
        keyword = text[start:end].strip()
        if keyword and keyword.casefold() not in {k.casefold() for k in keywords}:
            keywords.append(keyword)
        if len(keywords) == limit:
            break
    return keywords


def _validation_split(
    records: list[dict], fraction: float, seed: int
) -> tuple[list[dict], list[dict]]:
    """A stratified random validation split, reproducible from the seed."""
    rng = random.Random(seed)
    by_department: dict[str, list[dict]] = {}
    for record in records:
        by_department.setdefault(record["department"], []).append(record)
    train, validation = [], []
    for rows in by_department.values():
        rows = rows[:]
        rng.shuffle(rows)
        cut = max(1, round(fraction * len(rows)))
        validation.extend(rows[:cut])
        train.extend(rows[cut:])
    return train, validation


__all__ = [
    "TransformerConfig",
    "TransformerModel",
    "bio_labels",
    "decode_keywords",
    "keyword_spans",
]
