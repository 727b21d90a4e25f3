"""Parameter counts read from real layers: C01 (FC explosion), C02 (LeNet-5), C04 (a conv layer)."""

from __future__ import annotations

import torch
from torch import nn

from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import HOLDS, REFUTED, Part, exact, overall
from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.lenet5_1998 import LeNet5_1998
from cnnexp.models.summary import count_parameters, layer_rows

SIDES = (28, 32, 64, 100, 128, 200)


def judge_fc(m: dict) -> dict[str, Part]:
    rows = m["layers"]
    return {"fc weights = 3*H*W": exact(all(r["fc_unit_weights"] == r["inputs"] for r in rows)),
            "120,000 weights at 3x200x200": exact(rows[-1]["side"] == 200 and rows[-1]["fc_unit_weights"] == 120_000),
            "fc weights / inputs constant": exact(len({r["fc_unit_weights"] / r["inputs"] for r in rows}) == 1),
            "conv count independent of size": exact(len({r["conv_params"] for r in rows}) == 1)}


@claim(
    "C01", "Fully-connected layers explode in parameters; conv layers do not depend on the input size",
    lecture="Sec. 2: 'For a 3×200×200 RGB image: 120,000 input pixels. Each neuron in first hidden layer "
            "needs 120,000 weights' ... 'the number of parameters grows linearly with the number of input "
            "pixels' ... 'a CNN uses small filters (e.g., 3×3, 5×5) whose number of weights is independent "
            "of the input image size.'",
    method="Build nn.Linear(3*H*W, 1) (one hidden unit) and nn.Conv2d(3, 8, 5) for square RGB inputs of "
           "side 28 to 200, count their parameters, and run the conv layer on each input size.",
    rule="PASS if one FC unit has exactly 3*H*W weights (120,000 at 200x200), its count divided by the "
         "number of input values is constant (linear growth), and the conv layer's count is the same for "
         "every input size; otherwise FAIL.",
    judge=judge_fc,
)
def fc_explosion(ctx: Context) -> Outcome:
    rows = []
    conv = nn.Conv2d(3, 8, 5)
    for side in SIDES:
        inputs = 3 * side * side
        fc = nn.Linear(inputs, 1)
        with torch.no_grad():
            conv_out = conv(torch.zeros(1, 3, side, side))  # the same layer runs on every size
        rows.append({"side": side, "inputs": inputs, "fc_unit_weights": fc.weight.numel(),
                     "fc_unit_params": count_parameters(fc), "conv_params": count_parameters(conv),
                     "conv_output": list(conv_out.shape[1:])})
    at_200 = rows[-1]
    parts = judge_fc({"layers": rows})
    fig, (ax,) = new_figure()
    ax.plot([r["side"] for r in rows], [r["fc_unit_params"] * 300 for r in rows], "o-",
            label="FC layer, 300 units")
    ax.plot([r["side"] for r in rows], [r["conv_params"] for r in rows], "s-", label="Conv2d(3, 8, 5x5)")
    ax.set(xlabel="input side (3 x side x side)", ylabel="parameters", yscale="log",
           title="C01: first-layer parameters vs input size")
    ax.legend()
    return Outcome(overall(parts), f"{at_200['fc_unit_weights']:,} weights per FC unit at 3x200x200; "
                   f"conv layer {at_200['conv_params']:,} at every size",
                   {"layers": rows}, [save(fig, ctx.out_dir, "c01.png")], parts=parts)


# The lecture's list (sec. 3): stage -> (maps, side).
LECTURE_LENET5 = {"input": (1, 32), "c1": (6, 28), "s2": (6, 14), "c3": (16, 10), "s4": (16, 5), "c5": (120, 1)}


def stage_shapes(net: nn.Module) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Output shape (C, H, W) or (units,) and trainable parameters of every stage of a LeNet-5."""
    rows = layer_rows(net, (1, 32, 32))
    return ({"input": [1, 32, 32]} | {r.name: list(r.output_shape) for r in rows},
            {r.name: r.params for r in rows})


def judge_shapes(m: dict) -> dict[str, Part]:
    return {f"{name} shapes": exact(m[name]["shapes"] == m["lecture"]) for name in ("lenet5", "lenet5_1998")}


@claim(
    "C02", "LeNet-5: the stage shapes of the lecture's list, and the parameter counts",
    lecture="Sec. 3: 'Input: 32×32 image. C1: 6 feature maps of size 28×28. S2: 6 maps of size 14×14. "
            "C3: 16 maps of size 10×10. S4: 16 maps of size 5×5. C5: 120 feature maps of size 1×1. "
            "F6: 84 units. Output: 10-way classifier with Gaussian (later replaced by softmax).'",
    method="Build cnnexp's `lenet5` (the lecture's drawing) and `lenet5_1998` (the 1998 paper: C3 "
           "connection table, trainable subsampling, RBF output), run a 32x32 input through each and "
           "record every stage's output shape and trainable parameters.",
    rule="PASS if both models give exactly the listed shape at every stage (C1 6x28x28 ... C5 120x1x1, "
         "F6 84, output 10); otherwise FAIL. Parameter counts are reported (the lecture lists none).",
    judge=judge_shapes,
)
def lenet5_shapes(ctx: Context) -> Outcome:
    expected = {k: [c, s, s] for k, (c, s) in LECTURE_LENET5.items()} | {"f6": [84], "output": [10]}
    models = {"lenet5": LeNet5(), "lenet5_1998": LeNet5_1998()}
    evidence = {"lecture": expected}
    for name, net in models.items():
        shapes, params = stage_shapes(net)
        evidence[name] = {"shapes": shapes, "params": params,
                          "total_params": count_parameters(net, trainable_only=True)}
    parts = judge_shapes(evidence)
    notes = ["The lecture lists no parameter counts. The drawn network (full C3, max pooling, linear "
             f"output) has {evidence['lenet5']['total_params']:,}; the 1998 paper's (C3 table, trainable "
             f"subsampling, fixed RBF prototypes) has {evidence['lenet5_1998']['total_params']:,}, the "
             "'60,000' the paper states.",
             "'Gaussian' output: the 1998 paper's output units are Euclidean radial basis functions "
             "(distance to fixed ±1 prototypes), read as a Gaussian only up to the exponent."]
    fig, (ax,) = new_figure(width=6.5)
    stages = list(evidence["lenet5"]["params"])
    for i, name in enumerate(models):
        ax.bar([j + 0.4 * i for j in range(len(stages))], [evidence[name]["params"][s] for s in stages],
               width=0.4, label=f"{name} ({evidence[name]['total_params']:,})")
    ax.set_xticks([j + 0.2 for j in range(len(stages))], stages)
    ax.set(yscale="log", ylabel="trainable parameters", title="C02: LeNet-5 parameters per stage")
    ax.legend()
    verdict = overall(parts)
    return Outcome(verdict, f"all stage shapes {'match' if verdict == HOLDS else 'do not match'}; "
                   f"{evidence['lenet5']['total_params']:,} (lenet5) / "
                   f"{evidence['lenet5_1998']['total_params']:,} (lenet5_1998) parameters",
                   evidence, [save(fig, ctx.out_dir, "c02.png")], notes, parts=parts)


@claim(
    "C04", "Conv layer parameters: 3 input channels, 8 kernels of 5x5",
    lecture="Sec. 4: 'a convolutional layer has 3 input channels, 8 kernels, a kernel size of 5 × 5, and a "
            "stride of (1,1). Each kernel has dimensions 5 × 5, so the total number of trainable parameters "
            "is 5 × 5 × 3 × 8.'",
    method="Build nn.Conv2d(3, 8, kernel_size=5, stride=1) and read its weight and bias tensors.",
    rule="PASS if the layer's total number of trainable parameters equals 5*5*3*8 = 600 as the lecture "
         "states; otherwise FAIL (the evidence says where the difference is).",
)
def conv_parameters(ctx: Context) -> Outcome:
    layer = nn.Conv2d(3, 8, kernel_size=5, stride=1)
    no_bias = nn.Conv2d(3, 8, kernel_size=5, stride=1, bias=False)
    evidence = {"weight_shape": list(layer.weight.shape), "weights": layer.weight.numel(),
                "biases": layer.bias.numel(), "trainable_total": count_parameters(layer, trainable_only=True),
                "trainable_total_bias_false": count_parameters(no_bias, trainable_only=True),
                "lecture_total": 5 * 5 * 3 * 8}
    verdict = HOLDS if evidence["trainable_total"] == evidence["lecture_total"] else REFUTED
    notes = []
    if verdict == REFUTED:
        notes.append(f"5*5*3*8 = {evidence['weights']} counts the weights only (each kernel is 3x5x5, one "
                     f"5x5 slice per input channel). Every kernel also has a trainable bias, so the layer has "
                     f"{evidence['weights']} + {evidence['biases']} = {evidence['trainable_total']} trainable "
                     f"parameters; the lecture's total holds only with bias=False.")
    return Outcome(verdict, f"{evidence['trainable_total']} trainable = {evidence['weights']} weights + "
                   f"{evidence['biases']} biases (lecture: 600)", evidence, [], notes)


def conv_layer_counts() -> dict:
    layer = nn.Conv2d(3, 8, kernel_size=5, stride=1)
    return {"weight_shape": list(layer.weight.shape), "weights": layer.weight.numel(), "biases": layer.bias.numel(),
            "trainable_total": count_parameters(layer, trainable_only=True), "lecture_total": 5 * 5 * 3 * 8}


def judge_conv_counts(m: dict) -> dict[str, Part]:
    return {"the kernels hold 5 x 5 x 3 x 8 weights": exact(m["weights"] == m["lecture_total"], f"{m['weights']:,}"),
            "that is the layer's total of trainable parameters": exact(
                m["trainable_total"] == m["lecture_total"], f"{m['trainable_total']:,} with the biases", slip=True)}


@claim(
    "C04v2", "Conv layer parameters: 3 input channels, 8 kernels of 5x5",
    lecture="Sec. 4: 'a convolutional layer has 3 input channels, 8 kernels, a kernel size of 5 × 5, and a "
            "stride of (1,1). Each kernel has dimensions 5 × 5, so the total number of trainable parameters "
            "is 5 × 5 × 3 × 8.'",
    method="Build nn.Conv2d(3, 8, kernel_size=5, stride=1) and read its weight and bias tensors.",
    rule="The point: the 8 kernels hold 5*5*3*8 = 600 weights (else REFUTED). A detail (a slip if wrong): 600 is "
         "the layer's total of trainable parameters. The point holding and the detail wrong gives HOLDS WITH A "
         "CORRECTION.",
    judge=judge_conv_counts, replaces="C04",
    reason="C04 refuted the lecture for leaving out the biases, while C03 and C06 held with slips of the same kind: "
           "v2 judges the point (the weight count) and the detail (the total) apart, as every claim with a slip is.",
)
def conv_parameters_v2(ctx: Context) -> Outcome:
    m = conv_layer_counts()
    parts = judge_conv_counts(m)
    notes = [] if m["trainable_total"] == m["lecture_total"] else [
        f"Correction: each of the 8 kernels also has a bias, so the layer has {m['weights']} + {m['biases']} = "
        f"{m['trainable_total']} trainable parameters; 5 × 5 × 3 × 8 counts the weights (the total only with "
        "bias=False)."]
    return Outcome(overall(parts), f"{m['trainable_total']} trainable = {m['weights']} weights + {m['biases']} biases",
                   m, [], notes, parts=parts)
