# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lecture 13, runnable: Convolutional Neural Networks
#
# This notebook walks through the lecture (`lecture-13-cnn.md`) with **cnnexp**, the package of this
# repository: every number below is computed here, by the same code that `cnnexp-train` and
# `cnnexp-claims` run. Its parts follow the lecture's sections (quoted in *italics*):
#
# 1. shapes and parameters: *Impact of convolutions on size*, *Kernel dimensions and trainable parameters*
#    and LeNet-5's *Network structure*;
# 2. *Cross-Correlation vs. Convolution*;
# 3. *Convolutional Neural Networks [LeCun 1989]*: a LeNet-5 you train in the first minute, its curves,
#    its predictions on shifted, rotated and scaled digits, and its feature maps;
# 4. *CNNs and Translation/Rotation/Scale Invariance*: the invariance ladder and a net that quarter turns
#    cannot fool;
# 5. every claim of the lecture, with a verdict.
#
# Run it top to bottom: about 3 to 5 minutes on a 2-core laptop CPU. Its trainings go to
# `outputs/notebook/<date>_<time>_.../` (git ignores `outputs/`).

# %%
# ruff: noqa: E402  (each cell imports what it introduces, where a student reads it)
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, Markdown, display

# The tests run this notebook shrunk (CNNEXP_NOTEBOOK_QUICK=1): the same cells, smaller trainings.
QUICK = os.environ.get("CNNEXP_NOTEBOOK_QUICK") == "1"
# The repository: the notebook may be started from notebooks/ or from the top.
ROOT = next((p for p in (Path.cwd(), *Path.cwd().parents) if (p / "pyproject.toml").is_file()), Path.cwd())
DATA_DIR = Path(os.environ.get("CNNEXP_DATA_DIR", ROOT / "data"))
# Where cnnexp-claims writes its reports (outputs/claims/<dataset>/<profile>/claims.json).
CLAIMS_DIR = Path(os.environ.get("CNNEXP_CLAIMS_DIR", ROOT / "outputs" / "claims"))
OUT = Path(os.environ.get("CNNEXP_NOTEBOOK_OUT") or ROOT / "outputs" / "notebook")
OUT.mkdir(parents=True, exist_ok=True)
OUT = Path(tempfile.mkdtemp(prefix=time.strftime("%Y-%m-%d_%H-%M-%S_"), dir=OUT))  # one folder per run

# Training images, validation images, epochs, test images for the curves; the invariant nets of section 4
# (APS is the slowest to train) get their own size.
TRAIN_SIZE, VAL_SIZE, EPOCHS, N_IMAGES = (2000, 200, 2, 300) if QUICK else (10_000, 1000, 3, 2000)
INVARIANT_SIZE, INVARIANT_EPOCHS = (500, 1) if QUICK else (5000, 3)
plt.rcParams.update({"figure.dpi": 90, "figure.figsize": (9, 3.2), "image.cmap": "gray"})
torch.manual_seed(0)
started = time.perf_counter()
print(f"{'QUICK' if QUICK else 'full'} run; data: {DATA_DIR}; this run's files: {OUT}")

# %% [markdown]
# The claims of the lecture are registered in `cnnexp.claims`: each has a verdict rule fixed before any
# result, and `check` measures it. The closed-form ones (C01–C09) take a second each; we keep their
# outcomes to gather them in a table at the end.

# %%
from cnnexp.claims.families import all_claims
from cnnexp.claims.registry import Context, current

# Importing the claims sets matplotlib's file-only backend (they save PNGs): show figures here again.
# %matplotlib inline

CLAIMS = all_claims()
CLAIM_FIGURES = OUT / "claims"
CLAIM_FIGURES.mkdir()
checked = {}


def check(claim_id):
    """Run one claim's check (once, kept in `checked`), print its verdict and show its figures."""
    if claim_id not in checked:
        checked[claim_id] = CLAIMS[claim_id].check(Context(out_dir=CLAIM_FIGURES, seed=0))
    outcome = checked[claim_id]
    display(Markdown(f"**{claim_id} — {CLAIMS[claim_id].title}**: **{outcome.verdict}** — {outcome.key}"))
    for note in outcome.notes:
        display(Markdown(f"> {note}"))
    for name in outcome.figures:
        display(Image(filename=CLAIM_FIGURES / name, width=640))


# %% [markdown]
# ## 1. Shapes and parameters
#
# ### Impact of convolutions on size
#
# The lecture gives the side of a feature map as $O = \frac{W-K+2P}{S}+1$ (input side $W$, kernel $K$,
# padding $P$, stride $S$). cnnexp plans every network's layers with this arithmetic before torch is even
# loaded (`cnnexp.models.specs`), so an impossible kernel is refused in a second. Here is LeNet-5's plan,
# layer by layer, with the formula filled in and the receptive field of one unit on the input.

# %%
from cnnexp.models.specs import conv_out, lenet5_plan

plan = lenet5_plan(in_channels=1, input_size=32, pooling="max")
pd.DataFrame([{"layer": s.name, "kind": s.kind, "maps": s.channels, "in": f"{s.in_size}x{s.in_size}",
               "out": f"{s.out_size}x{s.out_size}", "formula": s.formula, "receptive field": f"{s.rf}x{s.rf}"}
              for s in plan])

# %% [markdown]
# A picture of the same plan: each stage's maps drawn to scale (one square per stage, its side in pixels),
# the way Figure 9 of the lecture draws LeNet-5.

# %%
fig, ax = plt.subplots(figsize=(9, 2.6))
x = 0
for name, maps_, side in [("input", 1, plan[0].in_size), *((s.name.upper(), s.channels, s.out_size) for s in plan)]:
    for depth in range(min(3, maps_)):  # a few stacked squares say "several maps"
        ax.add_patch(plt.Rectangle((x + depth, depth), side, side, fc="tab:blue", ec="k", alpha=0.25))
    ax.text(x + side / 2, -3, f"{name}\n{maps_}@{side}x{side}", ha="center", va="top", fontsize=8)
    x += max(side, 12) + 8  # room for the labels of the small maps
ax.set(xlim=(-2, x), ylim=(-14, 36), aspect="equal")
ax.axis("off")
ax.set_title("LeNet-5's feature maps, to scale")
plt.show()

# %% [markdown]
# The lecture's example: *"For a 28 × 28 input image, using a convolutional layer with a 5 × 5 kernel and
# stride of 1, the output size will be 24 × 24."* With a stride of 2 the lecture's formula gives
# (28 − 5)/2 + 1 = 12.5: there is no half pixel. PyTorch (and cnnexp) take the **floor**. Claim C03v2
# compares the floored formula with PyTorch on over a thousand layer/shape cases.

# %%
print("28x28, kernel 5, stride 1 ->", conv_out(28, 5, padding=0, stride=1))
print("28x28, kernel 5, stride 2 ->", conv_out(28, 5, padding=0, stride=2), "(the unfloored formula: 12.5)")
check("C03v2")

# %% [markdown]
# ### Kernel dimensions and trainable parameters
#
# The lecture counts a layer with 3 input channels and 8 kernels of 5 × 5 as 5 × 5 × 3 × 8 = 600
# trainable parameters. PyTorch's `nn.Conv2d` counts 8 more: one bias per kernel.

# %%
conv = torch.nn.Conv2d(3, 8, kernel_size=5)
print("weights", conv.weight.numel(), "+ biases", conv.bias.numel(), "=", sum(p.numel() for p in conv.parameters()))
check("C04v2")

# %% [markdown]
# The whole LeNet-5 of `cnnexp-train` (`cnnexp.models.lenet5.LeNet5`): its output shapes come from a
# forward pass, its parameters from the layers themselves. The lecture's C1 → S2 → C3 → S4 → C5 → F6 →
# output holds (claim C02), with 61,706 parameters; LeCun's 1998 original, with its sparse C3 and
# trainable subsampling, has 60,000.

# %%
from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.summary import count_parameters, layer_rows, markdown_table

display(Markdown(markdown_table(layer_rows(LeNet5(), (1, 32, 32)))))
print(f"{count_parameters(LeNet5()):,} parameters")
check("C02")

# %% [markdown]
# ## 2. Cross-Correlation vs. Convolution
#
# The lecture: *"most deep learning libraries (e.g., PyTorch, TensorFlow) actually implement
# cross-correlation rather than strict convolution"*; convolution flips the kernel first. Take a digit and a
# kernel that is not symmetric (it responds to ink getting darker from left to right): PyTorch's `conv2d`
# matches scipy's `correlate2d` exactly, and scipy's `convolve2d` (the true convolution) gives the mirrored
# response.

# %%
from scipy.signal import convolve2d, correlate2d

from cnnexp.data.torchvision_sets import load_split

test = load_split("MNIST", DATA_DIR, train=False)  # the official 10,000 test images, uint8
digit = test.images[0, 0].float() / 255
kernel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # a Sobel filter

torch_out = torch.nn.functional.conv2d(digit[None, None], kernel[None, None])[0, 0].numpy()
corr, conv_ = correlate2d(digit.numpy(), kernel.numpy(), "valid"), convolve2d(digit.numpy(), kernel.numpy(), "valid")
print(f"max |conv2d - correlate2d| = {np.abs(torch_out - corr).max():.1e}; "
      f"max |conv2d - convolve2d| = {np.abs(torch_out - conv_).max():.2f}")

fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
for ax, img, title in zip(axes, (digit, kernel, torch_out, conv_),
                          ("digit", "kernel", "torch conv2d\n= correlate2d", "convolve2d\n(kernel flipped)")):
    ax.imshow(img, cmap="gray" if title == "digit" else "coolwarm")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# Claim C05 makes the same comparison on random inputs and kernels; C06v2 checks the lecture's other face of
# convolution, *"Adding two random variables"* (the sum of two dice), and corrects its notation for
# continuous variables.

# %%
check("C05")
check("C06v2")

# %% [markdown]
# ## 3. Convolutional Neural Networks [LeCun 1989]: train a LeNet-5
#
# `cnnexp.training.run.train` is what `cnnexp-train` runs: it composes the same Hydra config (the
# overrides below are the ones you would type on the command line), checks it, trains with Lightning,
# tests the best-validation checkpoint on the official test set, and writes a run dir. `logger=csv` makes
# it write its curves as a CSV file that pandas reads. 10,000 images and 3 epochs take under a minute
# and already give about 98% test accuracy (the full 55,000 and 8 epochs of `make run`: 99.3%).

# %%
import logging

from omegaconf import open_dict

from cnnexp import load_classifier
from cnnexp.config import compose
from cnnexp.training.run import train
from cnnexp.validate import checked as checked_config

logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # its INFO lines ("GPU available: False") are noise


def train_run(name, *overrides, size=TRAIN_SIZE, epochs=EPOCHS):
    """Train as `cnnexp-train <overrides>` would, shrunk to this notebook's budget; return the run dir."""
    cfg = compose("train", [f"paths.data_dir={DATA_DIR}", f"paths.root_dir={OUT}",
                            f"data.train_size={size}", f"data.val_size={VAL_SIZE}",
                            f"trainer.max_epochs={epochs}", "trainer.accelerator=cpu",
                            "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=10",
                            "invariance=none", "logger=csv", *overrides])
    with open_dict(cfg):  # Hydra sets the run dir when it launches a command; here we choose it
        cfg.paths.output_dir = str(OUT / name)
    t = time.perf_counter()
    metrics = train(checked_config(cfg))
    tested = (f", test accuracy {metrics['test/acc']:.2%} ({metrics['params/trainable']:,} parameters)"
              if "test/acc" in metrics else "")  # test=false stops after fit
    print(f"{name}: validation accuracy {metrics['val/acc_best']:.2%}{tested}, {time.perf_counter() - t:.0f} s")
    return OUT / name


# recipe=...: each network's learning rate and weight decay, chosen on validation for cnnexp-claims.
lenet_dir = train_run("lenet5", "model=lenet5", "recipe=pool-max")
lenet = load_classifier(next((lenet_dir / "checkpoints").glob("best-*.ckpt")))

# %% [markdown]
# ### The training curves
#
# Lightning's CSV logger wrote one row per logged step: the training loss every 10 steps, the training and
# validation accuracy once per epoch.

# %%
log = pd.read_csv(lenet_dir / "csv" / "version_0" / "metrics.csv")
fig, (left, right) = plt.subplots(1, 2)
steps = log.dropna(subset=["train/loss_step"])
left.plot(steps["step"], steps["train/loss_step"], lw=1)
left.set(xlabel="step", ylabel="training loss (cross-entropy)", yscale="log", title="loss")
for key, style in (("train/acc", "o-"), ("val/acc", "s-")):
    epochs = log.dropna(subset=[key])
    right.plot(epochs["epoch"] + 1, 100 * epochs[key], style, label=key)
right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy per epoch", xticks=range(1, EPOCHS + 1))
right.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Shifted, rotated and scaled digits
#
# The lecture: *"CNNs are not inherently invariant to translation, rotation, or scale."* Here are six test
# digits moved, turned and zoomed with `cnnexp.invariance.transforms`, each titled with the trained
# LeNet-5's prediction (red: wrong).

# %%
from cnnexp.invariance.metrics import accuracy_curve, pixels, predict
from cnnexp.invariance.transforms import rotate, scale, shift

images, labels = test.images[:N_IMAGES], test.labels[:N_IMAGES]
few = pixels(test.images[:6])
variants = {"as given": few, "shifted 6 px right": shift(few, 6, 0), "rotated 45°": rotate(few, 45),
            "rotated 90°": rotate(few, 90), "scaled x0.6": scale(few, 0.6), "scaled x1.4": scale(few, 1.4)}
fig, axes = plt.subplots(len(variants), len(few), figsize=(7, 7.5))
for row, (name, batch) in zip(axes, variants.items()):
    probs = predict(lenet, batch)
    for ax, img, p, y in zip(row, batch, probs, test.labels[:6]):
        ax.imshow(img[0], vmin=0, vmax=1)
        ax.set_title(f"{p.argmax().item()} ({p.max().item():.0%})", fontsize=8,
                     color="black" if p.argmax() == y else "red")
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same on many test images: accuracy against the size of the shift, the angle and the zoom
# (`accuracy_curve`). A pixel or two of shift costs little (the *local / weak* translation invariance of the
# lecture); large shifts, rotations and zooms cost a lot.

# %%
families = {"horizontal shift (px)": (lambda x, v: shift(x, int(v), 0), range(-8, 9, 2)),
            "rotation (degrees)": (rotate, range(-90, 91, 15)),
            "scale factor": (scale, np.round(np.arange(0.5, 1.51, 0.1), 2))}
fig, axes = plt.subplots(1, 3, figsize=(10, 3))
for ax, (name, (transform, values)) in zip(axes, families.items()):
    accs, _ = accuracy_curve(lenet, images, labels, transform, [float(v) for v in values])
    ax.plot(list(values), [100 * a for a in accs], "o-", ms=4)
    ax.set(xlabel=name, ylabel="test accuracy (%)", ylim=(0, 100))
fig.suptitle(f"LeNet-5 on {len(images):,} transformed test digits")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Feature maps of C1
#
# *Alternative Visualization of Kernels*: *"A feature detector (the filter or kernel) slides over the input
# image to generate a feature map."* Top: the 6 learned 5 × 5 kernels of C1. Middle: the 6 feature maps they
# make of one digit. Bottom: the same digit moved 4 px right: every map moves with it (the same kernel at
# every position, *parameter sharing*): the maps are **equivariant**, not invariant, to the shift.

# %%
net = lenet.net  # the LeNet-5 inside the classifier (the classifier pads and normalizes first)
maps = {}
hook = net.c1.register_forward_hook(lambda _m, _i, out: maps.__setitem__("c1", out.detach()))
one = pixels(test.images[:1])
rows = {}
for name, x in (("digit", one), ("moved 4 px", shift(one, 4, 0))):
    lenet(x)
    rows[name] = maps["c1"][0]
hook.remove()

fig, axes = plt.subplots(3, 7, figsize=(9, 4.2))
axes[0, 0].imshow(one[0, 0])
axes[0, 0].set_title("input", fontsize=8)
for k in range(6):
    axes[0, k + 1].imshow(net.c1.weight[k, 0].detach(), cmap="coolwarm")
    axes[0, k + 1].set_title(f"kernel {k}", fontsize=8)
for r, (name, fmap) in enumerate(rows.items(), start=1):
    axes[r, 0].text(0.5, 0.5, name, ha="center", va="center", fontsize=9)
    for k in range(6):
        axes[r, k + 1].imshow(fmap[k])
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("C1: 6 kernels and their 28x28 feature maps")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. CNNs and Translation/Rotation/Scale Invariance: what buys invariance
#
# Pooling gives only a weak, local invariance. Networks can be built to be **exactly** invariant to some
# transformations:
#
# - *the shift ladder*: LeNet-5 → circular "same" convolutions and global average pooling → blur pooling →
#   adaptive polyphase sampling (APS, `model=lenet5_aps`: exactly invariant to circular shifts) → APS with
#   shift augmentation;
# - *p4 group convolutions* (`model=lenet5_p4`): every kernel in its four quarter turns, pooled over them,
#   so a quarter turn of the input changes nothing, at the price of telling a 6 from an upside-down 9.
#
# `cnnexp-claims` trains each of these with 3 seeds and judges claims C18 and C19v2. If you ran it, the
# next cell reads its report; otherwise it trains small versions here (LeNet-5 from above, APS and p4).

# %%
from cnnexp.readers import UnreadableFile, read_claims


def claims_report():
    """The newest claims.json under CLAIMS_DIR with C18 and C19v2 in it (MNIST first), or None."""
    reports = sorted(CLAIMS_DIR.glob("*/*/claims.json"), key=lambda p: (p.parts[-3] != "mnist", -p.stat().st_mtime))
    for path in reports:
        try:
            result = read_claims(path)
        except UnreadableFile as e:  # a damaged report is passed over, the next one read
            print(e)
            continue
        by_id = {c["id"]: c for c in result["claims"]}
        if {"C18", "C19v2"} <= set(by_id):
            return path, result, by_id
    return None


report = claims_report()
print(f"reading {report[0]}" if report else f"no claims report under {CLAIMS_DIR}: training small versions here")

# %%
if report:
    path, result, by_id = report
    display(Markdown(f"From `cnnexp-claims` on {result['dataset']}, profile `{result['profile']}`, seeds "
                     f"{result['seeds']} ({result['date']}). Each number: mean ± 95% interval over seeds."))
    rungs = pd.DataFrame([{k: (f"{v['mean']:.2f} ± {v['ci95']:.2f}" if isinstance(v, dict) else v)
                           for k, v in row.items()} for row in by_id["C19v2"]["evidence"]["rungs"]])
    display(rungs.set_index("rung"))
    for claim_id in ("C19v2", "C18"):
        c = by_id[claim_id]
        display(Markdown(f"**{claim_id} — {c['title']}**: **{c['verdict']}** — {c['key']}"))
        for name in c["figures"]:
            display(Image(filename=path.parent / name, width=760))

# %% [markdown]
# Without a report: the shift ladder's two ends, LeNet-5 and APS, under **circular** shifts of the
# 32 × 32 network input (what leaves one side comes back on the other, the shift APS is built for), and
# LeNet-5 against p4 at quarter turns. On this small budget APS and p4 are trained on half of LeNet-5's
# images and learn more slowly, so their flat lines sit lower; what matters is that they are flat. At
# `cnnexp-claims`' long budget APS costs no accuracy (claim C16v2) and p4 under half a point (C18).

# %%
from cnnexp.invariance.metrics import agreement, confusion_pair
from cnnexp.invariance.transforms import mover, quarter_turn

if not report:
    # test=false: we measure them here, on the transformed test images, rather than on the whole test set.
    aps, p4 = (load_classifier(next((train_run(name, f"model={name}", f"recipe={recipe}", "test=false",
                                               size=INVARIANT_SIZE, epochs=INVARIANT_EPOCHS)
                                     / "checkpoints").glob("best-*.ckpt")))
               for name, recipe in (("lenet5_aps", "ladder-aps"), ("lenet5_p4", "p4")))
    circular = mover("circular", 32)  # onto the network's 32x32 canvas, then rolled
    offsets = list(range(-8, 9, 2))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, model in (("LeNet-5", lenet), ("APS LeNet-5", aps)):
        accs, _ = accuracy_curve(model, images, labels, lambda x, v: circular(x, int(v), 0), offsets)
        left.plot(offsets, [100 * a for a in accs], "o-", ms=4, label=name)
    left.set(xlabel="circular shift of the 32x32 input (px)", ylabel="test accuracy (%)", ylim=(0, 100),
             title="shifts: APS is exact")
    left.legend()
    turns = [0, 1, 2, 3]
    for name, model in (("LeNet-5", lenet), ("p4 LeNet-5", p4)):
        accs, _ = accuracy_curve(model, images, labels, lambda x, k: quarter_turn(x, int(k)), turns)
        right.plot([90 * k for k in turns], [100 * a for a in accs], "o-", ms=4, label=name)
    right.set(xlabel="quarter turn (degrees, counter-clockwise)", ylabel="test accuracy (%)", ylim=(0, 100),
              xticks=[0, 90, 180, 270], title="quarter turns: p4 is exact")
    right.legend()
    plt.tight_layout()
    plt.show()

    clean = predict(p4, images, softmax=False)
    turned = agreement(p4, images, clean, lambda x: quarter_turn(x, 1))
    print(f"p4 at 90°: same prediction as upright on {turned['agreement']:.2%} of the images, "
          f"largest logit change {turned['max_logit_change']:.1e}")
    for name, model in (("LeNet-5", lenet), ("p4 LeNet-5", p4)):
        pairs = confusion_pair(labels, predict(model, images).argmax(-1))
        print(f"{name}, upright digits: " + ", ".join(f"{k} {v:.1%}" for k, v in pairs.items()))

# %% [markdown]
# The price of p4's invariance, in pictures: a 6 and a 9 in their four quarter turns, with what each network
# says. p4 gives the same answer at every turn, so an upside-down 6 *is* a 6 to it, even when it looks like a
# 9 to us; LeNet-5 changes its mind.

# %%
if not report:
    picks = [int((test.labels == d).nonzero()[0]) for d in (6, 9)]
    pair = pixels(test.images[picks])
    fig, axes = plt.subplots(2, 4, figsize=(7, 4))
    for k in range(4):
        x = quarter_turn(pair, k)
        for row, (img, a, b) in enumerate(zip(x, predict(lenet, x).argmax(-1), predict(p4, x).argmax(-1))):
            axes[row, k].imshow(img[0])
            axes[row, k].set_title(f"{90 * k}°: LeNet-5 {a.item()}, p4 {b.item()}", fontsize=8)
            axes[row, k].axis("off")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 5. Every claim of the lecture, with a verdict
#
# A verdict is **HOLDS**, **HOLDS WITH A CORRECTION** (the point holds, a detail of the wording does not),
# **REFUTED** or **INCONCLUSIVE** (the 95% interval straddles the rule's margin). If `cnnexp-claims` has
# written a report, the table is its table; otherwise it is the closed-form claims computed here, plus the
# trained ones as recorded in the repository from a long run (`docs/claims/mnist-long.json`).

# %%
from cnnexp.claims.report import current_records

COLORS = {"HOLDS": "#d4edda", "HOLDS WITH A CORRECTION": "#fff3cd", "REFUTED": "#f8d7da", "INCONCLUSIVE": "#e2e3e5"}

if report:
    rows = [{"claim": c["id"], "title": c["title"], "verdict": c["verdict"], "key number": c["key"],
             "source": f"cnnexp-claims, profile {result['profile']}"} for c in current_records(result["claims"])]
else:
    closed_form = [i for i, c in current(CLAIMS).items() if not c.trains and not c.reads_data]
    for claim_id in closed_form:  # the ones sections 1-2 did not check yet
        if claim_id not in checked:
            checked[claim_id] = CLAIMS[claim_id].check(Context(out_dir=CLAIM_FIGURES, seed=0))
    rows = [{"claim": i, "title": CLAIMS[i].title, "verdict": checked[i].verdict, "key number": checked[i].key,
             "source": "computed now"} for i in closed_form]
    recorded = ROOT / "docs" / "claims" / "mnist-long.json"
    if recorded.is_file():
        long_run = read_claims(recorded)
        rows += [{"claim": c["id"], "title": c["title"], "verdict": c["verdict"], "key number": c["key"],
                  "source": f"recorded: profile {long_run['profile']}, {long_run['date'][:10]}"}
                 for c in current_records(long_run["claims"]) if c["id"] not in closed_form]
table = pd.DataFrame(rows).set_index("claim")
table.style.map(lambda v: f"background-color: {COLORS.get(v, 'white')}", subset=["verdict"])

# %% [markdown]
# To get every verdict from trainings on this machine, with figures and 95% intervals, run
#
# ```bash
# .venv/bin/cnnexp-claims                      # MNIST, profile=quick: about 10-15 minutes on 2 cores
# .venv/bin/cnnexp-claims data=fashion_mnist   # the same claims on Fashion-MNIST
# ```
#
# It writes `outputs/claims/<dataset>/<profile>/report.md` and `claims.json`; run this notebook again and
# sections 4 and 5 read it.

# %%
print(f"notebook ran in {time.perf_counter() - started:.0f} s ({'QUICK' if QUICK else 'full'} size)")
