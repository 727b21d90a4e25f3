"""C05: nn.Conv2d computes cross-correlation; convolution is cross-correlation with a flipped kernel."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import Part, exact, overall

TOLERANCE = 1e-10  # float64 throughout: any real difference is many orders larger


def judge_correlation(m: dict) -> dict[str, Part]:
    d = m["max_abs_diff"]
    return {"conv2d == cross-correlation": exact(d["conv2d_vs_correlate2d"] < TOLERANCE),
            "conv2d(flipped kernel) == convolution": exact(d["conv2d_flipped_vs_convolve2d"] < TOLERANCE),
            "conv2d != convolution without the flip": exact(d["conv2d_unflipped_vs_convolve2d"] > 1e-3)}


@claim(
    "C05", "Deep-learning 'convolution' is cross-correlation",
    lecture="Sec. 4: 'most deep learning libraries (e.g., PyTorch, TensorFlow) actually implement "
            "cross-correlation rather than strict convolution' ... 'Convolution flips the kernel "
            "horizontally and vertically before sliding. Cross-correlation uses the kernel as-is.'",
    method="A seeded random 9x9 input and an asymmetric 3x3 kernel in float64: torch.nn.functional.conv2d "
           "against scipy.signal.correlate2d and convolve2d ('valid'), with and without flipping the kernel "
           "in both axes.",
    rule=f"PASS if conv2d equals correlate2d, conv2d with the flipped kernel equals convolve2d (max |diff| "
         f"< {TOLERANCE:g}), and conv2d without the flip differs from convolve2d by more than 1e-3; "
         "otherwise FAIL.",
    judge=judge_correlation,
)
def cross_correlation(ctx: Context) -> Outcome:
    rng = np.random.default_rng(ctx.seed)
    image = rng.standard_normal((9, 9))
    kernel = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [-2.0, 0.0, 0.5]])  # no symmetry at all
    torch_out = F.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
    flipped = F.conv2d(torch.from_numpy(image)[None, None],
                       torch.from_numpy(kernel[::-1, ::-1].copy())[None, None])[0, 0].numpy()
    corr = signal.correlate2d(image, kernel, mode="valid")
    conv = signal.convolve2d(image, kernel, mode="valid")
    diffs = {"conv2d_vs_correlate2d": float(np.abs(torch_out - corr).max()),
             "conv2d_flipped_vs_convolve2d": float(np.abs(flipped - conv).max()),
             "conv2d_unflipped_vs_convolve2d": float(np.abs(torch_out - conv).max())}
    parts = judge_correlation({"max_abs_diff": diffs})
    fig, axes = new_figure(ncols=4, width=2.6, height=2.8)
    for ax, (title, data) in zip(axes, [("kernel", kernel), ("nn.Conv2d", torch_out),
                                        ("correlate2d", corr), ("convolve2d", conv)]):
        ax.imshow(data, cmap="coolwarm")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle("C05: conv2d = correlate2d, not convolve2d")
    return Outcome(overall(parts), f"|conv2d - correlate2d| = {diffs['conv2d_vs_correlate2d']:.1e}; "
                   f"|conv2d - convolve2d| = {diffs['conv2d_unflipped_vs_convolve2d']:.2f} unless flipped",
                   {"max_abs_diff": diffs, "kernel": kernel.tolist()},
                   [save(fig, ctx.out_dir, "c05.png")], parts=parts)
