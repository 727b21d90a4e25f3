"""C03: the output-size formula against PyTorch's own conv and pooling layers."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import Part, all_hold, exact, overall
from cnnexp.models.specs import conv_out

WIDTHS = (5, 7, 8, 13, 28, 32)
KERNELS = (1, 2, 3, 5, 7)
PADDINGS = (0, 1, 2, 3)
STRIDES = (1, 2, 3)
DILATIONS = (1, 2)


def lecture_formula(w: int, k: int, p: int, s: int) -> float:
    """O = (W - K + 2P) / S + 1, exactly as written (no floor)."""
    return (w - k + 2 * p) / s + 1


@claim(
    "C03", "Output size O = (W - K + 2P) / S + 1",
    lecture="Sec. 4, 'Impact of convolutions on size': 'O = (W−K+2P)/S + 1'; and 'For a 28 × 28 input image, "
            "using a convolutional layer with a 5 × 5 kernel and stride of 1, the output size will be 24 × 24.'",
    method="For every W, K, P, S (and dilation D) on a grid, build nn.Conv2d, nn.MaxPool2d and nn.AvgPool2d "
           "and run a WxW input through them; compare the output side with floor((W - D(K-1) - 1 + 2P)/S) + 1 "
           "(cnnexp's shape planner) and with the lecture's formula as written.",
    rule="PASS if the floored formula equals PyTorch's output side in every case and the lecture's 28x28, "
         "5x5, stride 1 example gives 24; otherwise FAIL. Cases where the unfloored formula is not an "
         "integer are counted and reported.",
)
def output_size(ctx: Context) -> Outcome:
    evidence, examples = measure_sizes()
    checks = {"floored formula = PyTorch in every case": not evidence["mismatches"],
              "28x28, 5x5, stride 1 -> 24": evidence["lecture_example_side"] == 24 == lecture_formula(28, 5, 0, 1)}
    return Outcome(all_hold(checks), key(evidence), evidence | {"checks": checks},
                   [size_figure(examples, ctx.out_dir, "c03.png")], notes(evidence))


def measure_sizes() -> tuple[dict, list[dict]]:
    """Every case of the grid against PyTorch: the evidence, and the dilation-1 cases (for the figure)."""
    cases = []
    for w, k, p, s, d in itertools.product(WIDTHS, KERNELS, PADDINGS, STRIDES, DILATIONS):
        if w + 2 * p < d * (k - 1) + 1:
            continue  # the kernel does not fit: PyTorch refuses, the formula gives <= 0
        x = torch.zeros(1, 1, w, w)
        with torch.no_grad():
            measured = {"conv": nn.Conv2d(1, 1, k, s, p, dilation=d)(x).shape[-1]}
            if p <= k // 2:  # PyTorch's pooling accepts padding up to half the window
                measured["maxpool"] = nn.MaxPool2d(k, s, p, dilation=d)(x).shape[-1]
                if d == 1:
                    measured["avgpool"] = nn.AvgPool2d(k, s, p)(x).shape[-1]
        predicted = conv_out(w, k, p, s, d)
        cases.append({"W": w, "K": k, "P": p, "S": s, "D": d, "predicted": predicted, **measured})
    mismatches = [c for c in cases if any(c[layer] != c["predicted"]
                                          for layer in ("conv", "maxpool", "avgpool") if layer in c)]
    plain = [c for c in cases if c["D"] == 1]
    fractional = [c for c in plain if not float(lecture_formula(c["W"], c["K"], c["P"], c["S"])).is_integer()]
    example = nn.Conv2d(1, 1, 5, 1)(torch.zeros(1, 1, 28, 28)).shape[-1]
    layers = sum(len([k for k in ("conv", "maxpool", "avgpool") if k in c]) for c in cases)
    return {"cases": len(cases), "layer_comparisons": layers, "mismatches": mismatches[:10],
            "lecture_example_side": example, "dilation1_cases": len(plain), "unfloored_not_integer": len(fractional),
            "example_not_integer": fractional[:3]}, plain


def key(evidence: dict) -> str:
    return (f"floor formula = PyTorch in {evidence['layer_comparisons']:,} layer/shape cases; lecture's unfloored "
            f"form is fractional in {evidence['unfloored_not_integer']}/{evidence['dilation1_cases']}")


def notes(evidence: dict) -> list[str]:
    if not evidence["example_not_integer"]:
        return []
    first = evidence["example_not_integer"][0]
    return [f"The formula as written is not an integer in {evidence['unfloored_not_integer']} of "
            f"{evidence['dilation1_cases']} cases without dilation (e.g. W={first['W']}, K={first['K']}, "
            f"P={first['P']}, S={first['S']}: {lecture_formula(first['W'], first['K'], first['P'], first['S']):.3g}); "
            "PyTorch takes the floor: O = floor((W - K + 2P) / S) + 1 (ceil only with ceil_mode=True "
            "for pooling). With dilation D the kernel spans D(K-1)+1 pixels, which replaces K."]


def size_figure(plain: list[dict], out_dir, name: str) -> str:
    fig, (ax,) = new_figure()
    for s in STRIDES:
        ks = [c for c in plain if c["W"] == 28 and c["P"] == 0 and c["S"] == s]
        ax.plot([c["K"] for c in ks], [c["conv"] for c in ks], "o", label=f"PyTorch, S={s}")
        grid = [k / 10 for k in range(10, 71)]
        ax.plot(grid, [lecture_formula(28, k, 0, s) for k in grid], "-", lw=0.8, color=ax.lines[-1].get_color())
    ax.set(xlabel="kernel K (W=28, P=0)", ylabel="output side O", title="C03: formula (lines) vs PyTorch (dots)")
    ax.legend()
    return save(fig, out_dir, name)


def judge_sizes(m: dict) -> dict[str, Part]:
    return {"the floored formula gives PyTorch's side in every case": exact(not m["mismatches"],
                                                                          f"{len(m['mismatches'])} mismatches"),
            "28x28, 5x5, stride 1 -> 24": exact(m["lecture_example_side"] == 24),
            "the formula as written (no floor) gives an integer side": exact(
                m["unfloored_not_integer"] == 0, f"fractional in {m['unfloored_not_integer']}/{m['dilation1_cases']}",
                slip=True)}


@claim(
    "C03v2", "Output size O = (W - K + 2P) / S + 1",
    lecture="Sec. 4, 'Impact of convolutions on size': 'O = (W−K+2P)/S + 1'; and 'For a 28 × 28 input image, "
            "using a convolutional layer with a 5 × 5 kernel and stride of 1, the output size will be 24 × 24.'",
    method="As C03: every W, K, P, S (and dilation) of a grid through nn.Conv2d, nn.MaxPool2d and nn.AvgPool2d, "
           "against floor((W - D(K-1) - 1 + 2P)/S) + 1 and the lecture's formula as written.",
    rule="The point: the formula, floored, gives PyTorch's output side in every case, and the worked example gives "
         "24 (else REFUTED). A detail (a slip if wrong): the formula as written, without a floor, is an integer for "
         "every layer. The point holding and the detail wrong gives HOLDS WITH A CORRECTION.",
    judge=judge_sizes, replaces="C03",
    reason="C03 passed although its own note documents a slip (the missing floor) while C04 failed for one of the "
           "same kind; v2 judges the point and the detail apart, as every claim with a slip is.",
)
def output_size_v2(ctx: Context) -> Outcome:
    evidence, examples = measure_sizes()
    parts = judge_sizes(evidence)
    return Outcome(overall(parts), key(evidence), evidence, [size_figure(examples, ctx.out_dir, "c03v2.png")],
                   notes(evidence), parts=parts)
