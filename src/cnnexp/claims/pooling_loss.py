"""C15: pooling is lossy compression, measured on the dataset's official test images."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import all_hold
from cnnexp.data.datasets import load_dataset
from cnnexp.models.specs import conv_out

WINDOWS = (2, 3)
POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d}


def pool(kind: str, x: torch.Tensor, window: int) -> torch.Tensor:
    # ceil_mode: 28 is not a multiple of 3, and the last row and column must not simply vanish.
    return POOLS[kind](x, window, window, ceil_mode=True)


def preimage(pooled: torch.Tensor, window: int, side: int) -> torch.Tensor:
    """Each window filled with its pooled value: an input with the same pooled map (for max and avg),
    and the least-squares reconstruction from an average-pooled map."""
    return pooled.repeat_interleave(window, -1).repeat_interleave(window, -2)[..., :side, :side]


def relative_error(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """||x - x_hat||^2 / ||x||^2 over all images: the share of the image's energy the map cannot give back."""
    return float(((x - x_hat) ** 2).sum() / (x**2).sum())


def downstream_cost(window: int) -> dict[str, int]:
    """LeNet-5 on 32x32: C1 activations and C3 multiply-adds with and without pooling after C1."""
    c1 = conv_out(32, 5)
    s2 = conv_out(c1, window, 0, window)
    macs = {name: conv_out(side, 5) ** 2 * 16 * 6 * 25 for name, side in (("c3_macs_unpooled", c1),
                                                                          ("c3_macs_pooled", s2))}
    return {"c1_activations": 6 * c1 * c1, "s2_activations": 6 * s2 * s2} | macs


@claim(
    "C15", "Pooling is lossy compression",
    lecture="Sec. 3, '\"Pooling\": lossy compression': 'Pooling layers reduce the dimensionality of feature maps "
            "while retaining the most important information' ... 'Some information is discarded in the process, "
            "which is why pooling is considered lossy compression' ... 'lowers computational cost'.",
    method="On the dataset's 10,000 official test images: max and average pooling with 2x2 and 3x3 windows "
           "(stride = window). For each image, the input with every window filled by its pooled value has "
           "the same pooled map; count the images for which it differs from the image. Recovery: relative "
           "squared error of that pre-image and of a bilinear upsampling of the map. Cost: C1 activations "
           "and C3 multiply-adds of LeNet-5 with and without the pooling step.",
    rule="PASS if, for both pooling types and both windows, at least 99% of images have a different input "
         "with the identical pooled map, the best reconstruction loses a non-zero share of the image, and that "
         "share is larger for 3x3 than for 2x2; otherwise FAIL.",
    reads_data=True,
)
def lossy_pooling(ctx: Context) -> Outcome:
    test = load_dataset(ctx.data, ctx.data_dir)[1]
    x = test.images.double() / 255
    side = x.shape[-1]
    rows, examples = [], {}
    for kind in POOLS:
        for window in WINDOWS:
            pooled = pool(kind, x, window)
            same_map = preimage(pooled, window, side)
            collides = (pool(kind, same_map, window) - pooled).abs().amax(dim=(1, 2, 3)) < 1e-12
            differs = (same_map - x).abs().amax(dim=(1, 2, 3)) > 0
            bilinear = F.interpolate(pooled, size=(side, side), mode="bilinear", align_corners=False)
            errors = {"preimage": relative_error(x, same_map), "bilinear": relative_error(x, bilinear)}
            rows.append({"pooling": kind, "window": window, "map_side": pooled.shape[-1],
                         "values_kept": pooled[0].numel() / x[0].numel(),
                         "images_with_collision": float((collides & differs).double().mean()),
                         "relative_error": errors, "best_relative_error": min(errors.values())})
            examples[(kind, window)] = same_map[0, 0]
    best = {(r["pooling"], r["window"]): r["best_relative_error"] for r in rows}
    checks = {"≥ 99% of images collide": all(r["images_with_collision"] >= 0.99 for r in rows),
              "information is lost": all(v > 0 for v in best.values()),
              "3x3 loses more than 2x2": all(best[(k, 3)] > best[(k, 2)] for k in POOLS)}
    cost = {f"window_{w}": downstream_cost(w) for w in WINDOWS}
    fig, axes = new_figure(ncols=1 + len(examples), width=2.0, height=2.4)
    axes[0].imshow(x[0, 0].numpy(), cmap="gray")
    axes[0].set_title("test image", fontsize=8)
    for ax, ((kind, window), image) in zip(axes[1:], examples.items()):
        ax.imshow(image.numpy(), cmap="gray")
        ax.set_title(f"same {kind} {window}x{window} map\nerror {best[(kind, window)]:.0%}", fontsize=8)
    for ax in axes:
        ax.axis("off")
    c2 = cost["window_2"]
    return Outcome(all_hold(checks), f"2x2 max pooling keeps 25% of the values and loses "
                   f"{best[('max', 2)]:.0%} of an image's energy (avg: {best[('avg', 2)]:.0%}); C3 does "
                   f"{c2['c3_macs_unpooled'] / c2['c3_macs_pooled']:.1f}x fewer multiply-adds after it",
                   {"checks": checks, "pooling": rows, "downstream": cost, "images": len(x)},
                   [save(fig, ctx.out_dir, "c15.png")])
