"""C08: receptive fields grow with depth, analytically and in the gradients of a real LeNet-5."""

from __future__ import annotations

import torch

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import HOLDS, Part, exact, overall
from cnnexp.models.lenet5 import LeNet5

PROBES = 4  # random inputs whose gradient supports are united (an exact zero can hide a pixel in one)


def gradient_support(net: torch.nn.Module, layer: str, inputs: torch.Tensor) -> torch.Tensor:
    """Pixels of the input that the centre unit of `layer` (channel 0) depends on, over all `inputs`."""
    x = inputs.clone().requires_grad_(True)
    captured = {}
    hook = getattr(net, layer).register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out))
    try:
        net(x)
    finally:
        hook.remove()
    out = captured["out"]
    centre = out.shape[-1] // 2
    out[:, 0, centre, centre].sum().backward()
    return (x.grad.abs().sum(dim=(0, 1)) > 0)


def side_of(support: torch.Tensor) -> int:
    rows = support.any(dim=1).nonzero()
    cols = support.any(dim=0).nonzero()
    return int(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)


def judge_fields(m: dict) -> dict[str, Part]:
    stages = m["stages"]
    rfs = [s["analytic_rf"] for s in stages]
    return {"gradient support = analytic field": exact(all(s["analytic_rf"] == s["gradient_support"] for s in stages)),
            "grows with depth": exact(all(a < b for a, b in zip(rfs, rfs[1:])), " → ".join(map(str, rfs)))}


@claim(
    "C08", "Receptive fields grow with depth",
    lecture="Sec. 4, 'Receptive Fields': 'Although each neuron starts with a local receptive field, stacking "
            "multiple convolution layers expands the effective receptive field'.",
    method=f"The analytic receptive field of every LeNet-5 stage from the recurrence r_l = r_(l-1) + "
           f"(k_l - 1) j_(l-1), j_l = j_(l-1) s_l (cnnexp's shape planner), against the side of the input "
           f"region on which the gradient of the centre unit of that stage is non-zero, in a randomly "
           f"initialised `lenet5` with average pooling and tanh (no max and no dead ReLU hides a pixel), united over "
           f"{PROBES} random inputs.",
    rule="PASS if the gradient support's side equals the analytic receptive field at every stage and "
         "the field grows strictly from C1 to C5; otherwise FAIL.",
    judge=judge_fields,
)
def receptive_fields(ctx: Context) -> Outcome:
    torch.manual_seed(ctx.seed)
    net = LeNet5(pooling="avg", activation="tanh").double()
    inputs = torch.randn(PROBES, 1, 32, 32, dtype=torch.float64)
    stages = []
    supports = {}
    for spec in net.plan:
        supports[spec.name] = gradient_support(net, spec.name, inputs)
        stages.append({"layer": spec.name, "kernel": spec.kernel, "stride": spec.stride, "jump": spec.jump,
                       "analytic_rf": spec.rf, "gradient_support": side_of(supports[spec.name])})
    parts = judge_fields({"stages": stages})
    matches = parts["gradient support = analytic field"].verdict == HOLDS
    fig, axes = new_figure(ncols=len(stages), width=2.2, height=2.5)
    for ax, s in zip(axes, stages):
        ax.imshow(supports[s["layer"]].numpy(), cmap="Greys", vmin=0, vmax=1)
        ax.set_title(f"{s['layer']}: {s['analytic_rf']}x{s['analytic_rf']}", fontsize=9)
        ax.axis("off")
    fig.suptitle("C08: input pixels one centre unit depends on (32x32 input)")
    return Outcome(overall(parts), " → ".join(f"{s['layer']} {s['gradient_support']}" for s in stages)
                   + " px (gradient = analytic)" if matches else "gradient support differs from the analytic field",
                   {"stages": stages}, [save(fig, ctx.out_dir, "c08.png")], parts=parts)
