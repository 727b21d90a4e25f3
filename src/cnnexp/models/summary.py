"""Per-layer table of a built network: output shape, trainable parameters, receptive field."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnexp.models.specs import LayerShape


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    receptive_field: str


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def planned_modules(net: nn.Module) -> dict[str, tuple[nn.Module, LayerShape]]:
    """The layers of the network's shape plan (`net.plan`, every cnnexp net has one) by plan name, in
    plan order, each with its module (matched by the last part of the module's name) and its shape."""
    modules = {name.rsplit(".", 1)[-1]: m for name, m in net.named_modules() if name}
    return {s.name: (modules[s.name], s) for s in getattr(net, "plan", []) if s.name in modules}


def layer_rows(net: nn.Module, input_shape: tuple[int, ...]) -> list[LayerRow]:
    """One row per planned conv/pool layer, per linear layer, and for the output layer."""
    plan = {name: shape for name, (_, shape) in planned_modules(net).items()}
    chosen = {name: m for name, m in net.named_modules()
              if name and (name.rsplit(".", 1)[-1] in plan or isinstance(m, nn.Linear) or name == "output")}
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str):
        def hook(_module, _inputs, out) -> None:  # must return None: a value would replace the output
            shapes[name] = tuple(out.shape[1:])
        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in chosen.items()]
    try:
        with torch.no_grad():
            net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for name, module in chosen.items():
        spec = plan.get(name.rsplit(".", 1)[-1])
        rf = f"{spec.rf}x{spec.rf}" if spec else "whole input"
        kind = spec.kind if spec else "fc"
        params = count_parameters(module, trainable_only=True)
        rows.append(LayerRow(name, kind, shapes.get(name, ()), params, rf))
    return rows


def markdown_table(rows: list[LayerRow]) -> str:
    lines = ["| layer | kind | output shape | parameters | receptive field |", "|---|---|---|---|---|"]
    lines += [f"| {r.name} | {r.kind} | {'x'.join(map(str, r.output_shape))} | {r.params:,} | {r.receptive_field} |"
              for r in rows]
    return "\n".join(lines)
