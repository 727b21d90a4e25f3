"""C07: the gradient of a shared kernel is the sum of its per-position contributions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import all_hold
from cnnexp.models.specs import conv_out

TOLERANCE = 1e-10  # float64


def kernel_gradients(x: torch.Tensor, kernel: torch.Tensor, upstream: torch.Tensor, stride: int):
    """(autograd's dL/dK, the per-receptive-field contributions) for L = sum(upstream * conv(x, K))."""
    k = kernel.clone().requires_grad_(True)
    out = F.conv2d(x[None, None], k[None, None], stride=stride)[0, 0]
    (out * upstream).sum().backward()
    size = kernel.shape[-1]
    parts = [upstream[i, j] * x[i * stride:i * stride + size, j * stride:j * stride + size]
             for i in range(out.shape[0]) for j in range(out.shape[1])]
    return k.grad, parts


@claim(
    "C07", "Backprop with a shared kernel: gradients add up over positions",
    lecture="Sec. 5: '∂L/∂W = X * ∂L/∂y'; 'a 3 × 3 kernel applied to a 5 × 5 input produces 4 receptive "
            "fields. During backpropagation, we compute the gradient for each receptive field and then take "
            "the average to update the kernel weights' ... 'its gradient is the sum of the contributions "
            "from all those locations'.",
    method="float64, seeded: a 3x3 kernel on a 5x5 input, L = sum(G * conv(X, K)) for a random upstream "
           "gradient G. Compare autograd's dL/dK with the sum of the per-receptive-field contributions "
           "G[i,j] * X[patch(i,j)] and with the cross-correlation of X with G; count the receptive fields "
           "at stride 1 and 2; compare an SGD step with the averaged gradient and one with the summed gradient.",
    rule=f"PASS if autograd equals the sum of contributions and X ⋆ G (max |diff| < {TOLERANCE:g}), and the "
         "lecture's example (3x3 kernel, 5x5 input) has 4 receptive fields at stride 1 as written; "
         "otherwise FAIL.",
)
def shared_weight_gradient(ctx: Context) -> Outcome:
    gen = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(5, 5, generator=gen, dtype=torch.float64)
    kernel = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    fields = {f"stride_{s}": conv_out(5, 3, 0, s) ** 2 for s in (1, 2)}
    upstream = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    grad, parts = kernel_gradients(x, kernel, upstream, stride=1)
    summed = torch.stack(parts).sum(0)
    as_correlation = F.conv2d(x[None, None], upstream[None, None])[0, 0]  # X ⋆ dL/dy
    lr = 0.1
    step_mean = kernel - lr * summed / len(parts)
    step_sum_scaled = kernel - (lr / len(parts)) * summed
    diffs = {"autograd_vs_sum": float((grad - summed).abs().max()),
             "autograd_vs_correlation": float((grad - as_correlation).abs().max()),
             "mean_step_vs_sum_step_lr_over_n": float((step_mean - step_sum_scaled).abs().max())}
    checks = {"autograd = sum over positions": diffs["autograd_vs_sum"] < TOLERANCE,
              "autograd = X ⋆ dL/dy": diffs["autograd_vs_correlation"] < TOLERANCE,
              "3x3 on 5x5 gives 4 receptive fields (stride 1)": fields["stride_1"] == 4}
    notes = [f"A 3x3 kernel on a 5x5 input at stride 1 has (5-3+1)^2 = {fields['stride_1']} receptive fields, "
             f"not 4; 4 = ((5-3)/2+1)^2 holds at stride 2 (or for a 3x3 kernel on a 4x4 input).",
             f"Autograd sums the {len(parts)} contributions; the lecture's update with their average is the "
             f"same step as the sum with learning rate η/{len(parts)} (max difference "
             f"{diffs['mean_step_vs_sum_step_lr_over_n']:.0e}). The lecture's own next sentence ('the sum of "
             "the contributions') is the rule backprop follows; averaging only rescales the learning rate, "
             "by a factor that changes with the input size."]
    fig, axes = new_figure(ncols=3, width=2.8, height=2.8)
    for ax, (title, data) in zip(axes, [("autograd dL/dK", grad), ("sum of 9 contributions", summed),
                                        ("X ⋆ dL/dy", as_correlation)]):
        ax.imshow(data.detach().numpy(), cmap="coolwarm")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle("C07: the three gradients are the same")
    return Outcome(all_hold(checks), f"autograd = sum of {len(parts)} contributions (max diff "
                   f"{diffs['autograd_vs_sum']:.0e}); the example has {fields['stride_1']} receptive fields, not 4",
                   {"checks": checks, "max_abs_diff": diffs, "receptive_fields": fields},
                   [save(fig, ctx.out_dir, "c07.png")], notes)
