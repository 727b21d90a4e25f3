"""The trained arms the claims compare, as `train` overrides, and the numbers read from their runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cnnexp.claims.trainings import Run
from cnnexp.stats import t_interval

# The lecture's LeNet-5 as `make run` trains it: max pooling, no augmentation.
BASELINE = ("lenet5", ["model=lenet5", "model.pooling=max", "augment=none"])
POOLED = ("max", "avg", "blur")
POOLING = {"max": BASELINE} | {p: (f"pool-{p}", ["model=lenet5", f"model.pooling={p}", "augment=none"])
                                for p in ("avg", "blur", "none")}
AUGMENTED = {a: (f"augment-{a}", ["model=lenet5", "model.pooling=max", f"augment={a}"])
             for a in ("shift", "rotate", "scale")}
# LeCun's 784-300-10 network: 238,510 parameters, more than LeNet-5's 61,706.
MLP = ("mlp", ["model=mlp", "augment=none"])


def acc_at(run: Run, family: str, value: float) -> float:
    """Test accuracy (%) under `family` at `value`, from the run's invariance suite."""
    curve = run.invariance[family]
    matches = [a for v, a in zip(curve["values"], curve["acc"]) if abs(v - value) < 1e-9]
    if not matches:
        raise KeyError(f"the invariance grid of {run.dir} has no {family}={value}")
    return 100 * matches[0]


def shift_acc(run: Run, pixels: int) -> float:
    """Accuracy (%) under a shift of `pixels`, averaged over left, right, up and down."""
    if pixels == 0:
        return acc_at(run, "shift_x", 0)
    return sum(acc_at(run, f, s) for f in ("shift_x", "shift_y") for s in (-pixels, pixels)) / 4


def clean_acc(run: Run) -> float:
    return 100 * run.metrics["test/acc"]


def per_seed(runs: Sequence[Run], measure: Callable[[Run], float]) -> list[float]:
    return [measure(r) for r in runs]


def summary(values: Sequence[float], digits: int = 2) -> dict:
    """{"mean", "ci95" (half-width), "seeds"}: how every trained number appears in the evidence."""
    mean, half = t_interval(values)
    return {"mean": round(mean, digits), "ci95": round(half, digits), "seeds": [round(v, digits) for v in values]}


def fmt(values: Sequence[float], unit: str = "%") -> str:
    mean, half = t_interval(values)
    return f"{mean:.2f} ± {half:.2f}{unit}"


# Every arm a trained claim may ask for: validated together before the first training starts.
ALL_ARMS = [BASELINE, *(POOLING[p] for p in ("avg", "blur", "none")), *AUGMENTED.values(), MLP]
