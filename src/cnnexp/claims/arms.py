"""The trained arms the claims compare, as `train` overrides, and the numbers read from their runs.

Each arm trains at its own recipe (conf/recipe/<arm>.yaml: learning rate and weight decay chosen on validation
by a cnnexp-tune study at the quick profile's budget, docs/recipes.md), so that a comparison measures the
networks, not one network's recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cnnexp.claims.trainings import Trained
from cnnexp.invariance.measures import CURVES, MEASURES
from cnnexp.stats import t_interval


def arm(name: str, *overrides: str) -> tuple[str, list[str]]:
    """(name, overrides) of a claims arm, trained at its own recipe."""
    return name, [*overrides, f"recipe={name}"]


def trained_as(overrides: Sequence[str]) -> list[str]:
    """What an arm trains (network, augmentation, recipe): its overrides less those of the invariance suite."""
    return [o for o in overrides if not o.startswith("invariance.")]


def measuring(*families: str, also: Sequence[str] = ()) -> list[str]:
    """Overrides that leave out of an arm's invariance suite the curves (shift_x, shift_y, rotate, scale,
    fgsm) and the other measures (cnnexp.invariance.MEASURES) no claim reads of it, all but `families` and
    `also`: each costs passes over the curve images and is not computed."""
    return [*(f"invariance.{f}={'[]' if f == 'fgsm' else 'null'}" for f in CURVES if f not in families),
            f"invariance.measures=[{','.join(m for m in MEASURES if m in also)}]"]


# The lecture's LeNet-5 as `make run` trains it: max pooling, no augmentation (named as the pooling arm it
# also is). Every claim on it reads a different curve: all are measured.
BASELINE = arm("pool-max", "model=lenet5", "model.pooling=max", "augment=none")
POOLED = ("max", "avg", "blur")
POOLING = {"max": BASELINE} | {
    p: arm(f"pool-{p}", "model=lenet5", f"model.pooling={p}", "augment=none",
           *measuring("shift_x", "shift_y", also=["consistency"]))
    for p in ("avg", "blur", "none")}
# C12 reads each augmented arm's curve of its own transform.
AUGMENTED = {a: arm(f"augment-{a}", "model=lenet5", "model.pooling=max", f"augment={a}",
                    *measuring(*({"shift": ("shift_x", "shift_y")}.get(a, (a,)))))
             for a in ("shift", "rotate", "scale")}
# LeCun's 784-300-10 network: 238,510 parameters, more than LeNet-5's 61,706. Translation and FGSM claims.
MLP = arm("mlp", "model=mlp", "augment=none", *measuring("shift_x", "shift_y", "fgsm", also=["consistency"]))


def acc_at(run: Trained, family: str, value: float) -> float:
    """Test accuracy (%) under `family` at `value`, from the run's invariance suite."""
    curve = run.invariance[family]
    matches = [a for v, a in zip(curve["values"], curve["acc"]) if abs(v - value) < 1e-9]
    if not matches:
        raise KeyError(f"the invariance grid of {run.dir} has no {family}={value}")
    return 100 * matches[0]


def shift_acc(run: Trained, pixels: int, families: Sequence[str] = ("shift_x", "shift_y")) -> float:
    """Accuracy (%) under a shift of `pixels`, averaged over left, right, up and down (or the directions
    of `families` alone: the ladder's rungs measure horizontal shifts only)."""
    if pixels == 0:
        return acc_at(run, "shift_x", 0)
    return sum(acc_at(run, f, s) for f in families for s in (-pixels, pixels)) / (2 * len(families))


def clean_acc(run: Trained) -> float:
    return 100 * run.metrics["test/acc"]


def per_seed(runs: Sequence[Trained], measure: Callable[[Trained], float]) -> list[float]:
    return [measure(r) for r in runs]


def summary(values: Sequence[float], digits: int = 2) -> dict:
    """{"mean", "ci95" (half-width), "seeds"}: how every trained number appears in the evidence."""
    mean, half = t_interval(values)
    return {"mean": round(mean, digits), "ci95": round(half, digits), "seeds": [round(v, digits) for v in values]}


def fmt(values: Sequence[float], unit: str = "%", digits: int = 2) -> str:
    mean, half = t_interval(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}{unit}"


# What makes a CNN invariant (../shared/INVARIANCE.md): the remedies, measured like the lecture's arms.
# The shift remedies measure horizontal shifts and shift consistency (C19) only: nothing is claimed of them
# under vertical shifts, rotation, scaling, quarter turns or FGSM, and each skipped curve saves ~10 s. The
# circular shifts' logit changes are read of two rungs: APS (C16) and circular & GAP (C17).
def shifts_only(*also: str) -> list[str]:
    return measuring("shift_x", also=["consistency", "circular_consistency", *also])


# The ladder's rungs are conf/experiment/ladder_*.yaml (also `cnnexp-train sweep=ladder`).
LADDER = {"LeNet-5": BASELINE} | {
    name: arm(f"ladder-{rung.replace('_', '-')}", f"experiment=ladder_{rung}", *shifts_only(*also))
    for name, rung, also in (("+ circular & GAP", "circular_gap", ["circular_shifts"]), ("+ blur", "blur", []),
                             ("+ APS", "aps", ["circular_shifts"]), ("+ APS & shift augmentation", "aps_shift", []))}
CIRCULAR_GAP = LADDER["+ circular & GAP"]
APS_ARM = LADDER["+ APS"]
# C18 reads the quarter turns alone.
P4 = arm("p4", "model=lenet5_p4", "augment=none", *measuring(also=["quarter_turns"]))
