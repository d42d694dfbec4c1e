"""Inference benchmark: reports per second and peak memory per batch size (figures, not tests)."""

from __future__ import annotations

import resource
import time

from ml.data import model_input


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(predictor, records: list[dict], batch_size: int, repeats: int = 1) -> dict:
    """Predict all records in batches of batch_size; the best of `repeats` passes."""
    import torch

    inputs = [{"text": r["text"], "subject": r.get("subject")} for r in records]
    predictor.predict(inputs[: min(len(inputs), 2 * batch_size)])  # warm-up
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(0, len(inputs), batch_size):
            predictor.predict(inputs[i : i + batch_size])
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    result = {
        "batch_size": batch_size,
        "reports": len(inputs),
        "reports_per_s": round(len(inputs) / best, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "mean_chars": round(sum(len(model_input(r)) for r in records) / len(records), 1),
    }
    if torch.cuda.is_available():
        result["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result
