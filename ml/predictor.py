"""Loading a model directory into a Predictor: the one interface the application uses."""

from __future__ import annotations

import pickle
import zlib
from pathlib import Path

from ml import modeldir
from ml.modeldir import ModelDirError


class Predictor:
    """A loaded model plus its meta.json; predicts in the contract's prediction shape."""

    def __init__(self, model, meta: dict, directory: Path):
        self.model = model
        self.meta = meta
        self.directory = directory

    @property
    def info(self) -> dict:
        return {
            "version": self.meta["version"],
            "kind": self.meta["kind"],
            "base_model": self.meta.get("base_model"),
        }

    def predict(self, records: list[dict]) -> list[dict]:
        """Predict records that have a non-empty "text" and an optional "subject"."""
        info = self.info
        return [{**p, "model": dict(info)} for p in self.model.predict(records)]

    def explain(self, record: dict, top_k: int = 8) -> dict:
        """The words of one record that drove its department (see `ml.explain`)."""
        from ml.explain import explain

        return {**explain(self.model, record, top_k), "model": self.info}


def load(directory: str | Path, quantize: bool = False) -> Predictor:
    """Load a model directory; raise ModelDirError (never a bare traceback) if it is unusable.

    quantize: int8 dynamic quantisation of a transformer for CPU inference.
    """
    directory = Path(directory)
    meta = modeldir.read_meta(directory)
    kind = meta["kind"]
    if kind == "baseline":
        from ml.baseline import BaselineModel as model_class
    else:
        from ml.transformer import TransformerModel as model_class
    try:
        model = model_class.load(directory, meta, quantize=quantize)
    except FileNotFoundError as exc:
        raise ModelDirError(
            f"{directory}: incomplete model directory ({exc.filename} is missing)"
        ) from None
    except (
        pickle.UnpicklingError,
        EOFError,
        zlib.error,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        RuntimeError,
    ) as exc:
        raise ModelDirError(
            f"{directory}: corrupt model weights ({type(exc).__name__}: {exc})"
        ) from None
    return Predictor(model, meta, directory)
