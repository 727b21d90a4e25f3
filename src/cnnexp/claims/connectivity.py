"""C09: a conv layer is a sparse matrix with shared entries."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import Part, exact, overall

TOLERANCE = 1e-10  # float64


def conv_matrix(weight: torch.Tensor, side: int) -> torch.Tensor:
    """The dense (out_numel, in_numel) matrix of a bias-free, stride-1, unpadded conv on side x side
    inputs: column i is the layer's response to the i-th basis image."""
    channels = weight.shape[1]
    basis = torch.eye(channels * side * side, dtype=weight.dtype).view(-1, channels, side, side)
    return F.conv2d(basis, weight).flatten(1).T


def judge_matrix(m: dict) -> dict[str, Part]:
    """C1's geometry: 6 kernels of 5x5 on one input channel."""
    return {"conv2d = unfold + matmul": exact(m["max_abs_diff"]["unfold_matmul"] < TOLERANCE),
            "conv2d = M x": exact(m["max_abs_diff"]["explicit_matrix"] < TOLERANCE),
            "K*K*C_in non-zeros per row": exact(m["nonzeros_per_row"] == [5 * 5]),
            "6*25 distinct weights": exact(m["distinct_weights"] == 6 * 5 * 5, f"{m['distinct_weights']}")}


@claim(
    "C09", "Sparse, shared connectivity",
    lecture="Sec. 3, 'Main ideas of CNNs': 'Each element in the feature map is connected only to a small "
            "patch of the input' ... 'The same weights (a kernel/filter) are reused for different patches'; "
            "sec. 4: 'This drastically reduces the number of parameters compared to dense connections.'",
    method="LeNet-5's C1 (1 -> 6 maps, 5x5) on a random 28x28 input in float64: conv2d "
           "against unfold + matmul and against the explicit matrix M (3,456 x 784) times the flattened input; "
           "then M's fraction of non-zero entries and its number of distinct values against a dense layer of the same "
           "shape.",
    rule=f"PASS if the three computations agree (max |diff| < {TOLERANCE:g}), every row of M has exactly "
         "K*K*C_in non-zeros, and M holds exactly 6*25 distinct non-zero values; otherwise FAIL.",
    judge=judge_matrix,
)
def sparse_matrix(ctx: Context) -> Outcome:
    gen = torch.Generator().manual_seed(ctx.seed)
    side, k, out_ch = 28, 5, 6
    weight = torch.randn(out_ch, 1, k, k, generator=gen, dtype=torch.float64)
    x = torch.randn(1, 1, side, side, generator=gen, dtype=torch.float64)
    direct = F.conv2d(x, weight).flatten()
    cols = F.unfold(x, k)  # (1, 25, 576): one receptive field per column
    via_unfold = (weight.view(out_ch, -1) @ cols[0]).flatten()
    matrix = conv_matrix(weight, side)
    via_matrix = matrix @ x.flatten()
    nonzero = matrix != 0
    out_side = side - k + 1
    evidence = {
        "matrix_shape": list(matrix.shape),
        "max_abs_diff": {"unfold_matmul": float((direct - via_unfold).abs().max()),
                         "explicit_matrix": float((direct - via_matrix).abs().max())},
        "nonzero_fraction": float(nonzero.double().mean()),
        "nonzeros_per_row": sorted(set(nonzero.sum(1).tolist())),
        "distinct_weights": int(matrix[nonzero].unique().numel()),
        "dense_layer_weights": matrix.numel(),
        "conv_weights": weight.numel(),
        "outputs": out_ch * out_side * out_side,
    }
    parts = judge_matrix(evidence)
    fig, (ax,) = new_figure(width=6.5, height=3.2)
    ax.spy(matrix[:2 * out_side, : 6 * side].numpy(), markersize=1.5)
    ax.set(title=f"C09: first {2 * out_side} rows x {6 * side} columns of M "
                 f"({evidence['nonzero_fraction']:.2%} non-zero overall)", xlabel="input pixel", ylabel="output unit")
    return Outcome(overall(parts), f"{evidence['nonzero_fraction']:.2%} non-zeros, {evidence['distinct_weights']} "
                   f"distinct weights vs {evidence['dense_layer_weights']:,} in a dense layer",
                   evidence, [save(fig, ctx.out_dir, "c09.png")], parts=parts)
