"""Invariance measurements of a classifier mapping pixel images in [0, 1] to logits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnexp.invariance.transforms import shift

Transform = Callable[[torch.Tensor, float], torch.Tensor]
# A logit change above this is a real change: an exactly invariant float32 net moves its logits ~1e-7-1e-6.
EXACT = 1e-4


def pixels(x: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] from uint8 (0-255) or float ones."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x.float()


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1000,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None, softmax: bool = True) -> torch.Tensor:
    """Softmax probabilities (or the logits) (N, classes) for uint8 or float images, transformed batch by batch."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = pixels(images[start:start + batch_size].to(device))
        if transform is not None:
            x = transform(x)
        logits = model(x)
        out.append((logits.softmax(-1) if softmax else logits).cpu())
    return torch.cat(out)


def accuracy_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, transform: Transform,
                   values: Sequence[float], batch_size: int = 1000,
                   known: Mapping[float, torch.Tensor] | None = None) -> tuple[list[float], list[torch.Tensor]]:
    """Accuracy at every magnitude in `values`, and the probabilities behind it; `known`: {value: probabilities}
    already computed (the identity's: the untransformed predictions)."""
    accs, probs = [], []
    known = known or {}
    for v in values:
        p = known[v] if v in known else predict(model, images, batch_size, lambda x, v=v: transform(x, v))
        accs.append((p.argmax(-1) == labels).float().mean().item())
        probs.append(p)
    return accs, probs


def shift_stability(probs_by_shift: Sequence[torch.Tensor]) -> dict[str, float]:
    """Azulay & Weiss (2019): between consecutive 1-px shifts, how often the top-1 class changes
    and how much the probability of the unshifted top class moves."""
    changes, deltas = [], []
    for a, b in zip(probs_by_shift, probs_by_shift[1:]):
        top = a.argmax(-1)
        changes.append((b.argmax(-1) != top).float().mean())
        deltas.append((b.gather(1, top[:, None]) - a.gather(1, top[:, None])).abs().mean())
    return {"p_top1_change": torch.stack(changes).mean().item(),
            "mean_abs_top_prob_change": torch.stack(deltas).mean().item()}


def shift_consistency(model: nn.Module, images: torch.Tensor, max_shift: int, seed: int, batch_size: int = 1000,
                      move: Callable[[torch.Tensor, int, int], torch.Tensor] = shift,
                      correct: torch.Tensor | None = None) -> dict[str, float]:
    """Zhang (2019): P[argmax f(shift1 x) = argmax f(shift2 x)], two random shifts in [-k, k]^2 per image,
    each applied by `move(x, dx, dy)`. Consistency is confounded with accuracy (Zhang, antialiased-cnns
    #52), so given `correct` (per image: is the untransformed prediction right?) it is also split by it.

    Images that drew the same shift are transformed together, so every op runs on a batch; the moved
    images are then classified in batches of `batch_size` (one batch shape for a compiled model).
    """
    g = torch.Generator().manual_seed(seed)
    draws = torch.randint(-max_shift, max_shift + 1, (2, len(images), 2), generator=g)
    device = next(model.parameters()).device
    preds = []
    for side in range(2):
        moved = None
        with torch.inference_mode():
            for d in draws[side].unique(dim=0):
                rows = (draws[side] == d).all(-1).nonzero().flatten()
                x = move(pixels(images[rows].to(device)), int(d[0]), int(d[1]))
                moved = x.new_empty((len(images), *x.shape[1:])) if moved is None else moved
                moved[rows.to(device)] = x
        preds.append(predict(model, moved, batch_size).argmax(-1))
    same = (preds[0] == preds[1]).float()
    out = {"value": same.mean().item()}
    if correct is not None:
        for name, rows in (("correct", correct), ("incorrect", ~correct)):
            out[name] = same[rows].mean().item() if rows.any() else None
            out[f"n_{name}"] = int(rows.sum())
    return out


def agreement(model: nn.Module, images: torch.Tensor, clean_logits: torch.Tensor,
              transform: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 1000) -> dict[str, float]:
    """How `transform` changes the output: P(same top-1 as untransformed), the largest logit change, and
    on how many images some logit changes by more than EXACT."""
    logits = predict(model, images, batch_size, transform, softmax=False)
    change = (logits - clean_logits).abs().amax(dim=-1)
    return {"agreement": (logits.argmax(-1) == clean_logits.argmax(-1)).float().mean().item(),
            "max_logit_change": change.max().item(), "changed": int((change > EXACT).sum()), "logits": logits}


def confusion_pair(labels: torch.Tensor, preds: torch.Tensor, a: int = 6, b: int = 9) -> dict[str, float | None]:
    """The share of class `a` predicted as `b` and of `b` as `a` (a 6 turned upside down looks like a 9)."""
    return {f"{x}->{y}": ((preds[labels == x] == y).float().mean().item() if (labels == x).any() else None)
            for x, y in ((a, b), (b, a))}


def fgsm_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilons: Sequence[float],
               batch_size: int = 1000) -> tuple[list[float], list[float]]:
    """Accuracy and mean loss under FGSM (Goodfellow et al. 2015) in pixel space, clipped to [0, 1]."""
    device = next(model.parameters()).device
    correct = torch.zeros(len(epsilons))
    loss_sum = torch.zeros(len(epsilons))
    for start in range(0, len(images), batch_size):
        x = pixels(images[start:start + batch_size].to(device)).requires_grad_(True)
        y = labels[start:start + batch_size].to(device)
        grad, = torch.autograd.grad(F.cross_entropy(model(x), y), x)
        with torch.inference_mode():
            for i, eps in enumerate(epsilons):
                logits = model((x + eps * grad.sign()).clamp(0, 1))
                correct[i] += (logits.argmax(-1) == y).sum().cpu()
                loss_sum[i] += F.cross_entropy(logits, y, reduction="sum").cpu()
    return (correct / len(images)).tolist(), (loss_sum / len(images)).tolist()


def pgd_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float, steps: int,
                 batch_size: int = 1000) -> float:
    """Accuracy under L-inf projected gradient descent (Madry et al. 2018) in pixel space: `steps` signed-gradient
    steps of 2.5 * epsilon / steps from the clean image, each projected back to the epsilon-ball and [0, 1]; an
    image counts as attacked if any step's image is misclassified (the attack keeps its best). A lower bound on
    what an attacker can do: a stronger attack can only find more."""
    device = next(model.parameters()).device
    step_size = 2.5 * epsilon / steps
    survived = 0
    for start in range(0, len(images), batch_size):
        clean = pixels(images[start:start + batch_size].to(device))
        y = labels[start:start + batch_size].to(device)
        x, alive = clean.clone(), torch.ones_like(y, dtype=torch.bool)
        for _ in range(steps):
            x.requires_grad_(True)
            logits = model(x)
            alive &= logits.argmax(-1) == y
            grad, = torch.autograd.grad(F.cross_entropy(logits, y), x)
            x = torch.minimum(torch.maximum(x.detach() + step_size * grad.sign(), clean - epsilon), clean + epsilon)
            x = x.clamp(0, 1)
        with torch.inference_mode():
            alive &= model(x).argmax(-1) == y
        survived += int(alive.sum())
    return survived / len(images)
