"""C10 (pooling gives only weak, local translation invariance) and C13 (weight sharing vs FC under shifts),
each with its corrected version (C10v2, C13v2a, C13v2b)."""

from __future__ import annotations

import math

from cnnexp.claims.arms import BASELINE, MLP, POOLED, POOLING, clean_acc, fmt, per_seed, shift_acc, summary
from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import HOLDS, REFUTED, Part, at_most, beyond, combine, greater, overall
from cnnexp.stats import difference_interval, t_interval

SMALL_SHIFTS = (1, 2)
GROWING_SHIFTS = (0, 1, 2, 4, 6)
# MNIST's digits sit in a 20x20 box centred in the 28x28 frame: shifted by 4 px the box still fits, so
# at 4 px nothing the network needs has left the frame.
IN_FRAME = 4
WEAK = 1.0      # points of inconsistency: below it a pooled net would be near-invariant, not weakly so
POSITION = 10.0  # points lost at IN_FRAME px: a loss of 10 points means position still decides (as C11)
ANYWHERE = 5.0  # points lost at IN_FRAME px that "recognized wherever it is" tolerates


def small_shift_acc(run) -> float:
    return sum(shift_acc(run, d) for d in SMALL_SHIFTS) / len(SMALL_SHIFTS)


def consistency(run) -> float:
    return 100 * run.invariance["consistency"]["value"]


def shift_auc(run) -> float:
    return 50 * (run.metrics["inv/shift_x_auc"] + run.metrics["inv/shift_y_auc"])


@claim(
    "C10", "Pooling gives only weak, local translation invariance",
    lecture="Sec. 4: 'CNNs provide only local / weak translation invariance: weight sharing and pooling make the "
            "network less sensitive to small shifts within a receptive field, but the activations still depend on "
            "where a pattern appears'; sec. 3: pooling 'introduces translation invariance'.",
    method="LeNet-5 trained the same way (same recipe, seeds, data) with max, average and blur pooling, and with "
           "no pooling (a learned stride-2 convolution in its place). On the official test set: shift consistency "
           "(same class for two random shifts within ±3 px, Zhang 2019), accuracy under 1-2 px shifts (mean over "
           "left/right/up/down), and accuracy as the shift grows to 6 px.",
    rule="For each pooled variant, its consistency and its 1-2 px shift accuracy must exceed the no-pooling "
         "variant's (95% Welch interval of the difference above 0: PASS; below 0: FAIL; else INCONCLUSIVE). "
         "Invariance must be partial: every variant's mean consistency below 100% and its accuracy falling at "
         "each step of 0, 1, 2, 4, 6 px (else FAIL). The verdict combines the parts: any FAIL -> FAIL, all "
         "PASS -> PASS, otherwise INCONCLUSIVE.",
    arms=tuple(POOLING.values()),
)
def pooling_translation(ctx: Context) -> Outcome:
    measures = pooling_measures(ctx)
    parts, comparisons = {}, {}
    for p in POOLED:
        for m in ("consistency", "small_shift_acc"):
            parts[f"{p} > none: {m}"] = greater(measures[p][m], measures["none"][m])
            diff, low, high = difference_interval(measures[p][m], measures["none"][m])
            comparisons[f"{p} - none: {m}"] = {"diff": round(diff, 2), "low": round(low, 2), "high": round(high, 2)}
    for p, m in measures.items():
        means = [t_interval(m["by_shift"][d])[0] for d in GROWING_SHIFTS]
        parts[f"{p}: consistency < 100%"] = HOLDS if t_interval(m["consistency"])[0] < 100 else REFUTED
        falls = all(a > b for a, b in zip(means, means[1:]))
        parts[f"{p}: accuracy falls with the shift"] = HOLDS if falls else REFUTED
    evidence = {"differences": comparisons,
                "arms": {p: {"consistency": summary(m["consistency"]), "small_shift_acc": summary(m["small_shift_acc"]),
                             "clean_acc": summary(m["clean_acc"]),
                             "acc_by_shift": {str(d): summary(v) for d, v in m["by_shift"].items()}}
                         for p, m in measures.items()}}
    key = ", ".join(f"{p} {fmt(measures[p]['consistency'])}" for p in measures)
    return Outcome(combine(list(parts.values())), f"shift consistency {key}", evidence,
                   [c10_figure(measures, ctx.out_dir, "c10.png")], parts=parts)


def c10_figure(measures: dict, out_dir, name: str) -> str:
    fig, (ax1, ax2) = new_figure(ncols=2, width=4.4)
    for p, m in measures.items():
        means = [t_interval(m["by_shift"][d]) for d in GROWING_SHIFTS]
        ax1.errorbar(GROWING_SHIFTS, [a for a, _ in means], [h for _, h in means], marker="o", capsize=3, label=p)
    ax1.set(xlabel="shift (px, mean of 4 directions)", ylabel="test accuracy (%)", title="accuracy vs shift")
    ax1.legend(fontsize=8)
    names = list(measures)
    ci = [t_interval(measures[p]["consistency"]) for p in names]
    ax2.bar(names, [a for a, _ in ci], yerr=[h for _, h in ci], capsize=4, color="tab:gray")
    low = min(a - (0 if math.isnan(h) else h) for a, h in ci)  # one seed: no interval
    ax2.set(ylim=(max(0, low - 5), 100), ylabel="shift consistency (%)", title="consistency (±3 px)")
    fig.suptitle("C10: pooling and small shifts (mean ± 95% CI over seeds)")
    return save(fig, out_dir, name)


def pooling_measures(ctx: Context) -> dict:
    """Per pooling arm, per seed: consistency, 1-2 px and in-frame shift accuracy, clean accuracy, the curve."""
    runs = {p: ctx.runs.get(*POOLING[p]) for p in (*POOLED, "none")}
    return {p: {"consistency": per_seed(r, consistency), "small_shift_acc": per_seed(r, small_shift_acc),
                "clean_acc": per_seed(r, clean_acc), "in_frame_acc": per_seed(r, lambda run: shift_acc(run, IN_FRAME)),
                "by_shift": {d: per_seed(r, lambda run, d=d: shift_acc(run, d)) for d in GROWING_SHIFTS}}
            for p, r in runs.items()}


def judge_pooling(m: dict) -> dict[str, Part]:
    """C10v2's rule on per-seed numbers (pooling_measures)."""
    parts = {}
    for p in POOLED:
        for name in ("consistency", "small_shift_acc"):
            parts[f"{p} > none: {name}"] = greater(m[p][name], m["none"][name])
        parts[f"{p} is weak: inconsistency > {WEAK:g} pt"] = beyond([100 - c for c in m[p]["consistency"]], WEAK, WEAK)
        lost = [c - a for c, a in zip(m[p]["clean_acc"], m[p]["in_frame_acc"])]
        parts[f"{p} is local: > {POSITION:g} pts lost at {IN_FRAME} px"] = beyond(lost, POSITION, POSITION)
    return parts


@claim(
    "C10v2", "Pooling gives only weak, local translation invariance",
    lecture="Sec. 4: 'CNNs provide only local / weak translation invariance: weight sharing and pooling make the "
            "network less sensitive to small shifts within a receptive field, but the activations still depend on "
            "where a pattern appears'; sec. 3: pooling 'introduces translation invariance'.",
    method="As C10: LeNet-5 with max, average and blur pooling and with none (a learned stride-2 convolution), "
           "each at its own recipe. Shift consistency (two random shifts within ±3 px), accuracy under 1-2 px "
           f"shifts, and accuracy under {IN_FRAME} px shifts (mean of left/right/up/down), where the digit's 20x20 "
           "box still fits the frame.",
    rule=f"For each pooled variant: (1) its consistency and 1-2 px shift accuracy exceed the no-pooling variant's "
         f"(Welch 95% interval of the difference above 0 holds, below 0 refutes); (2) weak: its inconsistency "
         f"(100% - consistency) exceeds {WEAK:g} point with 95% confidence (below it with 95% confidence refutes: "
         f"near-invariant); (3) local: it loses more than {POSITION:g} points of accuracy at {IN_FRAME} px with 95% "
         "confidence (fewer with 95% confidence refutes: position would not matter). Any refuted part refutes.",
    arms=tuple(POOLING.values()), judge=judge_pooling, replaces="C10",
    reason="C10's 'consistency < 100%' and 'accuracy falls as the shift grows' hold for almost any network, so "
           "they cannot refute 'weak' and 'local'; v2 states a minimum effect for each.",
)
def pooling_translation_v2(ctx: Context) -> Outcome:
    measures = pooling_measures(ctx)
    parts = judge_pooling(measures)
    evidence = {"arms": {p: {k: summary(v) for k, v in m.items() if k != "by_shift"} for p, m in measures.items()}}
    key = ", ".join(f"{p} {fmt(measures[p]['consistency'])}" for p in measures)
    return Outcome(overall(parts), f"shift consistency {key}", evidence,
                   [c10_figure(measures, ctx.out_dir, "c10v2.png")], parts=parts)


@claim(
    "C13", "Weight sharing vs fully connected under translation",
    lecture="Sec. 3: parameter sharing 'allows the network to generalize across spatial translation of the input "
            "(e.g., recognize an object whether it's in the top-left or bottom-right)'.",
    method="LeNet-5 (61,706 parameters) against LeCun's 784-300-10 MLP (238,510 parameters, more than the CNN), "
           "both trained with the same recipe, seeds and data, no augmentation. Accuracy under horizontal and "
           "vertical shifts of -6..6 px (normalised area under the curve, mean of the two directions) and shift "
           "consistency.",
    rule="PASS if the CNN's shift AUC exceeds the MLP's with 95% confidence (Welch interval of the difference "
         "above 0); FAIL if it is below the MLP's with 95% confidence; otherwise INCONCLUSIVE.",
    arms=(BASELINE, MLP),
)
def cnn_vs_mlp(ctx: Context) -> Outcome:
    measures = shift_measures(ctx, {"cnn": BASELINE, "mlp": MLP})
    diff, low, high = difference_interval(measures["cnn"]["shift_auc"], measures["mlp"]["shift_auc"])
    verdict = greater(measures["cnn"]["shift_auc"], measures["mlp"]["shift_auc"]).verdict
    evidence = {"shift_auc_difference": {"diff": round(diff, 2), "low": round(low, 2), "high": round(high, 2)},
                "arms": {n: {"params": m["params"], "shift_auc": summary(m["shift_auc"]),
                             "consistency": summary(m["consistency"]), "clean_acc": summary(m["clean_acc"]),
                             "acc_by_shift": {str(d): summary(v) for d, v in m["by_shift"].items()}}
                         for n, m in measures.items()}}
    return Outcome(verdict, f"shift AUC CNN {fmt(measures['cnn']['shift_auc'])} vs MLP "
                   f"{fmt(measures['mlp']['shift_auc'])}", evidence, [c13_figure(measures, ctx.out_dir, "c13.png")])


def shift_measures(ctx: Context, arms: dict) -> dict:
    """Per arm, per seed: shift AUC, consistency, clean accuracy, accuracy by shift (0-6 px), parameters."""
    runs = {name: ctx.runs.get(*arm) for name, arm in arms.items()}
    return {name: {"shift_auc": per_seed(r, shift_auc), "consistency": per_seed(r, consistency),
                   "clean_acc": per_seed(r, clean_acc),
                   "by_shift": {d: per_seed(r, lambda run, d=d: shift_acc(run, d)) for d in range(0, 7)},
                   "params": r[0].metrics["params/trainable"]}
            for name, r in runs.items()}


def c13_figure(measures: dict, out_dir, name: str) -> str:
    fig, (ax,) = new_figure()
    for name_, m in measures.items():
        means = [t_interval(m["by_shift"][d]) for d in m["by_shift"]]
        ax.errorbar(list(m["by_shift"]), [a for a, _ in means], [h for _, h in means], marker="o", capsize=3,
                    label=f"{name_} ({m['params']:,} params)")
    ax.set(xlabel="shift (px, mean of 4 directions)", ylabel="test accuracy (%)",
           title="C13: CNNs vs MLP under shifts")
    ax.legend(fontsize=8)
    return save(fig, out_dir, name)


C13_LECTURE = ("Sec. 3: parameter sharing 'allows the network to generalize across spatial translation of the input "
               "(e.g., recognize an object whether it's in the top-left or bottom-right)'.")
C13_REASON = ("C13 tested only that the CNN beats the MLP, while the sentence is absolute; and its CNN has pooling, "
              "which the MLP lacks, so it credited weight sharing with what pooling does. v2a (relative, with a CNN "
              "without pooling) and v2b (absolute) test the two halves.")
RELATIVE = {"cnn": BASELINE, "cnn without pooling": POOLING["none"], "mlp": MLP}


def judge_relative(m: dict) -> dict[str, Part]:
    return {f"{cnn} > mlp: shift AUC": greater(m[cnn]["shift_auc"], m["mlp"]["shift_auc"])
            for cnn in ("cnn", "cnn without pooling")}


@claim(
    "C13v2a", "Weight sharing generalizes across translation better than a fully connected net",
    lecture=C13_LECTURE,
    method="LeNet-5 (max pooling), LeNet-5 without pooling (a learned stride-2 convolution in its place) and LeCun's "
           "784-300-10 MLP (238,510 parameters), each at its own recipe, no augmentation: accuracy under horizontal "
           "and vertical shifts of -6..6 px (normalised area under the curve, mean of the two directions).",
    rule="Two parts, each HOLDS if the CNN's shift AUC exceeds the MLP's with 95% confidence (Welch interval of the "
         "difference above 0) and is REFUTED if below with 95% confidence: LeNet-5 vs the MLP, and LeNet-5 without "
         "pooling vs the MLP (weight sharing without pooling).",
    arms=tuple(RELATIVE.values()), judge=judge_relative, replaces="C13", reason=C13_REASON,
)
def cnn_vs_mlp_v2(ctx: Context) -> Outcome:
    measures = shift_measures(ctx, RELATIVE)
    parts = judge_relative(measures)
    evidence = {"arms": {n: {"params": m["params"], "shift_auc": summary(m["shift_auc"]),
                             "clean_acc": summary(m["clean_acc"])} for n, m in measures.items()}}
    key = ", ".join(f"{n} {fmt(m['shift_auc'])}" for n, m in measures.items())
    return Outcome(overall(parts), f"shift AUC {key}", evidence, [c13_figure(measures, ctx.out_dir, "c13v2a.png")],
                   parts=parts)


def judge_anywhere(m: dict) -> dict[str, Part]:
    lost = [c - a for c, a in zip(m["cnn"]["clean_acc"], m["cnn"]["by_shift"][IN_FRAME])]
    return {f"LeNet-5 loses < {ANYWHERE:g} pts at {IN_FRAME} px": at_most(lost, ANYWHERE)}


@claim(
    "C13v2b", "A CNN recognizes a digit wherever it is in the frame",
    lecture=C13_LECTURE,
    method=f"LeNet-5 at its own recipe, no augmentation: accuracy with every test image shifted by {IN_FRAME} px "
           f"(mean of left, right, up, down; the digit's 20x20 box still fits the 28x28 frame, so no ink leaves it) "
           "against the same images unshifted.",
    rule=f"HOLDS if the accuracy lost at {IN_FRAME} px is below {ANYWHERE:g} points with 95% confidence (recognized "
         f"at the frame's edge as at its centre); REFUTED if above {ANYWHERE:g} points with 95% confidence; "
         "otherwise INCONCLUSIVE.",
    arms=(BASELINE,), judge=judge_anywhere, replaces="C13", reason=C13_REASON,
)
def cnn_anywhere(ctx: Context) -> Outcome:
    measures = shift_measures(ctx, {"cnn": BASELINE})
    parts = judge_anywhere(measures)
    by_shift = {str(d): summary(v) for d, v in measures["cnn"]["by_shift"].items()}
    lost = [c - a for c, a in zip(measures["cnn"]["clean_acc"], measures["cnn"]["by_shift"][IN_FRAME])]
    return Outcome(overall(parts), f"LeNet-5 loses {fmt(lost, ' pts')} at {IN_FRAME} px",
                   {"acc_by_shift": by_shift, "lost_at_in_frame_shift": summary(lost)},
                   [c13_figure(measures, ctx.out_dir, "c13v2b.png")], parts=parts)
