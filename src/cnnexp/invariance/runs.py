"""How each entry of the suite's table (cnnexp.invariance.measures.SUITE) runs: one function per entry, from a
Session to its parts of invariance.json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from cnnexp.classifier import Classifier
from cnnexp.compiled import eager
from cnnexp.invariance import QUARTER_TURNS
from cnnexp.invariance.equivariance import equivariance_errors, planned_layers
from cnnexp.invariance.metrics import (
    accuracy_curve,
    agreement,
    confusion_pair,
    fgsm_curve,
    shift_consistency,
    shift_stability,
)
from cnnexp.invariance.profile import layer_profile
from cnnexp.invariance.transforms import Mover, quarter_turn
from cnnexp.invariance.transforms import rotate as turned
from cnnexp.invariance.transforms import scale as scaled

Parts = dict[str, Any]


@dataclass
class Session:
    """One suite run: the model, its images and their untransformed logits, and what the suite decided from the
    table (each family's grid and reused predictions, whether circular consistency is the consistency)."""
    model: Classifier
    images: torch.Tensor
    labels: torch.Tensor
    cfg: Mapping[str, Any]
    clean: torch.Tensor  # logits on the untransformed images
    move: Mover  # a shift in shift_mode on the canvas
    circular: Mover  # a circular shift of the network input
    grids: Mapping[str, list[float]]
    known: Mapping[str, Mapping[float, torch.Tensor]]  # family -> {identity: the clean probabilities}
    shares_consistency: bool
    results: Mapping[str, Any]  # the parts measured so far

    @property
    def bs(self) -> int:
        return self.cfg["batch_size"]

    @property
    def correct(self) -> torch.Tensor:
        return self.clean.argmax(-1) == self.labels


def _curve(s: Session, key: str, transform: Callable[[torch.Tensor, float], torch.Tensor]
           ) -> tuple[Parts, list[torch.Tensor]]:
    values = s.grids[key]
    accs, probs = accuracy_curve(s.model, s.images, s.labels, transform, values, s.bs, s.known.get(key))
    same = [(p.argmax(-1) == s.clean.argmax(-1)).float().mean().item() for p in probs]
    return {"values": values, "acc": accs, "agreement": same}, probs


def shift_x(s: Session) -> Parts:
    """The horizontal curve, and beside it the stability of 1-px neighbours (a step of 1)."""
    curve, probs = _curve(s, "shift_x", lambda x, v: s.move(x, v, 0))
    stable = len(curve["values"]) > 1 and s.cfg["shift_x"]["step"] == 1
    return {"shift_x": curve} | ({"stability": shift_stability(probs)} if stable else {})


def shift_y(s: Session) -> Parts:
    return {"shift_y": _curve(s, "shift_y", lambda x, v: s.move(x, 0, v))[0]}


def rotate(s: Session) -> Parts:
    return {"rotate": _curve(s, "rotate", turned)[0]}


def scale(s: Session) -> Parts:
    return {"scale": _curve(s, "scale", scaled)[0]}


def fgsm(s: Session) -> Parts:
    eps = list(s.cfg["fgsm"])
    accs, losses = fgsm_curve(eager(s.model), s.images, s.labels, eps, s.bs)  # gradients: the eager network
    return {"fgsm": {"values": eps, "acc": accs, "loss": losses}}


def _consistency(s: Session, move: Mover) -> Parts:
    k = s.cfg["consistency_max_shift"]
    return {"max_shift": k, "images": len(s.labels),
            **shift_consistency(s.model, s.images, k, s.cfg["seed"], s.bs, move=move, correct=s.correct)}


def consistency(s: Session) -> Parts:
    return {"consistency": _consistency(s, s.move)}


def circular_consistency(s: Session) -> Parts:
    same = dict(s.results["consistency"]) if s.shares_consistency else None
    return {"circular_consistency": same or _consistency(s, s.circular)}


COMPARED = ("agreement", "max_logit_change", "changed")


def circular_shifts(s: Session) -> Parts:
    rolls = [agreement(s.model, s.images, s.clean, lambda x, d=d: s.circular(x, d, 0), s.bs)
             for d in s.cfg["circular_shifts"]]
    return {"circular_shifts": {"values": list(s.cfg["circular_shifts"]),
                                **{key: [r[key] for r in rolls] for key in COMPARED}}}


def quarter_turns(s: Session) -> Parts:
    turns = [agreement(s.model, s.images, s.clean, lambda x, k=k: quarter_turn(x, k), s.bs) for k in QUARTER_TURNS]
    return {"quarter_turns": {
        "k": list(QUARTER_TURNS), "upright_acc": s.correct.float().mean().item(),
        "acc": [(t["logits"].argmax(-1) == s.labels).float().mean().item() for t in turns],
        **{key: [t[key] for t in turns] for key in COMPARED},
        "confusion_6_9": {"clean": confusion_pair(s.labels, s.clean.argmax(-1)),
                          "half_turn": confusion_pair(s.labels, turns[1]["logits"].argmax(-1))},
    }}


def equivariance(s: Session) -> Parts:
    device = next(s.model.parameters()).device
    x_net = s.model.preprocess(s.images[: s.cfg["equivariance_images"]].float().div(255).to(device))
    return {"equivariance": equivariance_errors(s.model.net, planned_layers(s.model.net), x_net,
                                                s.cfg["equivariance_shifts"])}


def layers(s: Session) -> Parts:
    return {"layers": layer_profile(eager(s.model), s.images, s.cfg["layers"], s.bs)}
