"""C14: small adversarial perturbations (FGSM) against a CNN, with the MLP for comparison."""

from __future__ import annotations

from cnnexp.claims.arms import BASELINE, MLP, acc_at, fmt, per_seed, summary
from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import beyond
from cnnexp.stats import t_interval

EPSILON = 0.1  # L-inf, pixels in [0, 1]: about 25 grey levels of 255
FAR = 20.0     # points: "far below" clean accuracy
NEAR = 5.0


@claim(
    "C14", "Small perturbations and adversarial examples",
    lecture="Sec. 4: '...This is why CNNs can still be sensitive to small perturbations and even adversarial "
            "examples, despite using convolution and pooling.'",
    method=f"FGSM (one signed-gradient step of size ε in pixel space, clipped to [0, 1]) on the official test "
           f"set against LeNet-5 and the 784-300-10 MLP, both trained without augmentation; the drop from "
           f"clean accuracy at ε = {EPSILON}.",
    rule=f"PASS if the CNN's accuracy at ε = {EPSILON} is more than {FAR:g} points below its clean accuracy with "
         f"95% confidence; FAIL if the drop is below {NEAR:g} points with 95% confidence; otherwise INCONCLUSIVE. "
         "The MLP is reported for comparison, not judged.",
    arms=(BASELINE, MLP),
)
def fgsm(ctx: Context) -> Outcome:
    arms = {"cnn": ctx.runs.get(*BASELINE), "mlp": ctx.runs.get(*MLP)}
    drops = {n: per_seed(r, lambda run: acc_at(run, "fgsm", 0.0) - acc_at(run, "fgsm", EPSILON))
             for n, r in arms.items()}
    verdict = beyond(drops["cnn"], above=FAR, below=NEAR)
    curves = {n: {str(e): summary(per_seed(r, lambda run, e=e: acc_at(run, "fgsm", e)))
                  for e in r[0].invariance["fgsm"]["values"]} for n, r in arms.items()}
    evidence = {"epsilon": EPSILON, "drop_points": {n: summary(d) for n, d in drops.items()},
                "clean_acc": {n: summary(per_seed(r, lambda run: acc_at(run, "fgsm", 0.0))) for n, r in arms.items()},
                "curves": curves}
    fig, (ax,) = new_figure()
    for name, runs in arms.items():
        eps = runs[0].invariance["fgsm"]["values"]
        stats = [t_interval(per_seed(runs, lambda r, e=e: acc_at(r, "fgsm", e))) for e in eps]
        ax.errorbar(eps, [a for a, _ in stats], [h for _, h in stats], marker="o", capsize=3, label=name)
    ax.axvline(EPSILON, color="gray", lw=0.8, ls="--")
    ax.set(xlabel="FGSM ε (pixels in [0, 1])", ylabel="test accuracy (%)", ylim=(0, 100),
           title="C14: FGSM, mean ± 95% CI over seeds")
    ax.legend()
    key = f"accuracy lost at ε={EPSILON}: CNN {fmt(drops['cnn'], ' pts')}, MLP {fmt(drops['mlp'], ' pts')}"
    return Outcome(verdict, key, evidence, [save(fig, ctx.out_dir, "c14.png")])
