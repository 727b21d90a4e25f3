"""Beyond the lecture, "Where invariance comes from": the layer profile (cnnexp.invariance.profile) of each trained
arm's tested checkpoint, beside the same networks at initialisation. C20 (LeNet-5: equivariant convolutions,
invariance at pooling and in the head), C21 (pooling types), C22 (APS against its control), C23 (p4), C24 (the
lecture's "parameter sharing enforces translation invariance").

Rules registered before any of these claims ran. Disclosed: the trained and untrained LeNet-5's profile at 1-3 px
(C20's and C24's numbers) was seen while the profile was built, before these rules were written; C22's equivariance
threshold was set after the test suite's tiny trainings (300 images, 1 epoch) showed APS swapping near-tied phases in
floats (s4: 1.8e-2), before any real run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cnnexp.claims.arms import APS_ARM, BASELINE, CIRCULAR_GAP, P4, POOLING, fmt, per_seed
from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.remedies import untrained
from cnnexp.claims.verdict import Part, at_most, beyond, exact, greater, overall
from cnnexp.data.datasets import load_dataset
from cnnexp.invariance.profile import IN, layer_profile
from cnnexp.stats import t_interval
from cnnexp.training.checkpoint import load_classifier

SECTION = "Where invariance comes from (beyond the lecture)"
# The profile every claim here reads: the first 500 official test images (fewer where a profile's invariance curves
# measure fewer: the untrained nets are profiled on those), the suite's default grid.
GRID = {"images": 500, "shifts": [1, 2, 3, 4], "rotations": [15, 45, 90], "scales": [0.9, 1.1]}
IMAGES = f"the first {GRID['images']} official test images (or the invariance curves' images, if fewer)"
SMALL = "shift 1 px zero"  # a small shift: 1 px of the input canvas, background filling in
MOVES = 0.05  # equivariance below this: the map moves with its input (a border column aside)
CHANGES, BARELY = 0.3, 0.1  # invariance above 0.3: the map changes by a third of its norm; below 0.1: nearly invariant
EXACT = 1e-4  # float error of an exactly equivariant or invariant layer (normalized distance)

Profile = dict


def trained_profiles(ctx: Context, arm) -> list[Profile]:
    """The profile of each seed's tested checkpoint of `arm` (measured once per run, whichever claim asks first;
    an arm's name names its trainings)."""
    def measure() -> list[Profile]:
        test = load_dataset(ctx.data, ctx.data_dir)[1]
        return [layer_profile(load_classifier(run.tested).eval(), test.images[:run.curve_images], GRID)
                for run in ctx.runs.get(*arm)]

    return ctx.once(("trained", arm[0]), measure)


def untrained_profiles(ctx: Context, arm) -> list[Profile]:
    """The same networks at initialisation (each seed's), on the same images."""
    return ctx.once(("untrained", arm[0]),
                    lambda: [layer_profile(model, images, GRID) for _, model, _, images in untrained(ctx, arm)])


def at(profile: Profile, kind: str, transform: str, layer: str) -> float:
    return profile[kind][transform][profile["layers"].index(layer)]


def gain(profiles: Sequence[Profile], before: str, after: str, transform: str = SMALL) -> list[float]:
    """Per seed, the invariance a stretch of the network gains: its input's distance less its output's."""
    return per_seed(profiles, lambda p: at(p, "invariance", transform, before) - at(p, "invariance", transform, after))


def curve(profiles: Sequence[Profile], kind: str, transform: str) -> dict[str, list[float]]:
    """{layer: the distance per seed} where it is defined."""
    layers = profiles[0]["layers"]
    return {name: [p[kind][transform][i] for p in profiles] for i, name in enumerate(layers)
            if all(p[kind][transform][i] is not None for p in profiles)}


def plot_profiles(ax, curves: dict[str, dict[str, list[float]]], ylabel: str) -> None:
    for label, values in curves.items():
        stats = [t_interval(v) for v in values.values()]
        ax.errorbar(list(values), [m for m, _ in stats], [h for _, h in stats], marker="o", ms=3, capsize=3,
                    label=label, ls="--" if "untrained" in label else "-")
    ax.set(ylabel=ylabel)
    ax.tick_params(axis="x", labelrotation=90, labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def fmt_mean(values: Sequence[float]) -> str:
    return fmt(values, "", digits=3)


# C20 ------------------------------------------------------------------------------------------------------------


def judge_c20(m: dict) -> dict[str, Part]:
    return {"c1 moves with a 1-px shift": at_most(m["c1_equivariance"], MOVES, unit=""),
            "c1 is not invariant to it": beyond(m["c1_invariance"], above=CHANGES, below=BARELY, unit=""),
            **{f"{name} gains invariance": beyond(m["gain"][key], above=0.0, below=0.0, unit="")
               for key, name in (("s2", "pooling s2"), ("s4", "pooling s4"), ("head", "the fully-connected head"))}}


def stretches(profiles: Sequence[Profile]) -> dict[str, list[float]]:
    """The invariance each stretch of LeNet-5 gains at a 1-px shift: each layer from the one before it."""
    layers = profiles[0]["layers"]
    return {f"{a} → {b}": gain(profiles, a, b) for a, b in zip(layers, layers[1:])}


@claim(
    "C20", "LeNet-5's convolutions are equivariant; its invariance is gained at pooling and in the head",
    lecture="Sec. 3, '\"Pooling\"': 'This introduces translation invariance'; Sec. 4: 'weight sharing and pooling make "
            "the network less sensitive to small shifts within a receptive field'.",
    method=f"The layer profile of LeNet-5 (max pooling, no augmentation, its recipe) at each seed's tested checkpoint, "
           f"on {IMAGES}: for every layer, the invariance ||f(Tx) - f(x)|| / "
           "||f(x)|| and the equivariance ||f(Tx) - T'f(x)|| / ||f(x)|| (T' the same move at the layer's resolution) "
           "under a 1-px shift of the input canvas; a pooling layer's input (after the ReLU) is read apart "
           "(`s2.in`), so that a pooling's own gain is its input's distance less its output's. The same networks at "
           "initialisation are the control.",
    rule=f"HOLDS if, with 95% confidence over seeds: c1's equivariance is below {MOVES} (it moves with the shift); "
         f"c1's invariance is above {CHANGES} (it is not invariant; REFUTED below {BARELY}); s2 and s4 each gain "
         "invariance (their input's distance exceeds their output's); and the fully-connected head gains it (c5's "
         "distance exceeds the output's). A part whose interval straddles its margin: INCONCLUSIVE.",
    arms=(BASELINE,), judge=judge_c20, section=SECTION,
)
def c20(ctx: Context) -> Outcome:
    trained, control = trained_profiles(ctx, BASELINE), untrained_profiles(ctx, BASELINE)
    m = {"c1_equivariance": per_seed(trained, lambda p: at(p, "equivariance", SMALL, "c1")),
         "c1_invariance": per_seed(trained, lambda p: at(p, "invariance", SMALL, "c1")),
         "gain": {"s2": gain(trained, "s2" + IN, "s2"), "s4": gain(trained, "s4" + IN, "s4"),
                  "head": gain(trained, "c5", "output")},
         "stretches": stretches(trained), "untrained_stretches": stretches(control),
         "profile": {kind: {t: curve(trained, kind, t) for t in (SMALL, "shift 3 px zero")}
                     for kind in ("invariance", "equivariance")},
         "untrained_profile": {t: curve(control, "invariance", t) for t in (SMALL, "shift 3 px zero")}}
    parts = judge_c20(m)
    fig, (ax,) = new_figure(width=7)
    plot_profiles(ax, {"trained, 1 px": m["profile"]["invariance"][SMALL],
                       "trained, 3 px": m["profile"]["invariance"]["shift 3 px zero"],
                       "untrained, 1 px": m["untrained_profile"][SMALL]}, "invariance ||f(Tx) - f(x)|| / ||f(x)||")
    ax.set(title="C20: LeNet-5, layer by layer (mean ± 95% CI over seeds)")
    best = max(m["stretches"], key=lambda s: sum(m["stretches"][s]))
    key = (f"c1 equivariance {fmt_mean(m['c1_equivariance'])}, invariance {fmt_mean(m['c1_invariance'])}; gains: "
           f"s2 {fmt_mean(m['gain']['s2'])}, s4 {fmt_mean(m['gain']['s4'])}, head {fmt_mean(m['gain']['head'])}; "
           f"most at {best}")
    return Outcome(overall(parts), key, m, [save(fig, ctx.out_dir, "c20.png")], parts=parts)


# C21 ------------------------------------------------------------------------------------------------------------


def judge_c21(m: dict) -> dict[str, Part]:
    return {"max pooling gains more at s2 than a stride-2 convolution": greater(m["s2_gain"]["max"],
                                                                              m["s2_gain"]["none"], unit=""),
            "average pooling gains more at s2 than a stride-2 convolution": greater(m["s2_gain"]["avg"],
                                                                                  m["s2_gain"]["none"], unit=""),
            "blur pooling gains more at s2 than max pooling": greater(m["s2_gain"]["blur"], m["s2_gain"]["max"],
                                                                      unit="")}


@claim(
    "C21", "The pooling type changes where invariance is gained",
    lecture="Sec. 3, '\"Pooling\"': 'Types of pooling: Max pooling ... Mean (average) pooling' and 'This introduces "
            "translation invariance'.",
    method=f"The layer profile (as C20: 1-px shift, {IMAGES}, each seed's tested "
           "checkpoint) of LeNet-5 with max, average and blur pooling (Zhang 2019: a 3x3 binomial blur before the "
           "stride) and with none (a learned stride-2 convolution in its place), each at its own recipe. The gain of "
           "the first subsampling layer s2: its input's invariance distance less its output's. The same nets at "
           "initialisation are reported beside them (not judged).",
    rule="HOLDS if, with 95% confidence over seeds, s2 gains more invariance with max pooling than with the stride-2 "
         "convolution, more with average pooling than with it, and more with blur pooling than with max pooling "
         "(anti-aliasing); a part whose interval straddles 0: INCONCLUSIVE; any part refuted: REFUTED.",
    arms=tuple(POOLING.values()), judge=judge_c21, section=SECTION,
)
def c21(ctx: Context) -> Outcome:
    profiles = {p: trained_profiles(ctx, arm) for p, arm in POOLING.items()}
    control = {p: untrained_profiles(ctx, arm) for p, arm in POOLING.items()}
    m = {"s2_gain": {p: gain(pr, "s2" + IN, "s2") for p, pr in profiles.items()},
         "untrained_s2_gain": {p: gain(pr, "s2" + IN, "s2") for p, pr in control.items()},
         "s4_gain": {p: gain(pr, "s4" + IN, "s4") for p, pr in profiles.items()},
         "output_invariance": {p: per_seed(pr, lambda q: at(q, "invariance", SMALL, "output"))
                               for p, pr in profiles.items()},
         "profile": {p: curve(pr, "invariance", SMALL) for p, pr in profiles.items()}}
    parts = judge_c21(m)
    fig, (ax,) = new_figure(width=7)
    plot_profiles(ax, m["profile"], "invariance to a 1-px shift")
    ax.set(title="C21: LeNet-5 by pooling type (mean ± 95% CI over seeds)")
    key = ("s2 gains " + ", ".join(f"{p} {fmt_mean(v)}" for p, v in m["s2_gain"].items()) + "; untrained "
           + ", ".join(f"{p} {t_interval(v)[0]:.3f}" for p, v in m["untrained_s2_gain"].items()))
    return Outcome(overall(parts), key, m, [save(fig, ctx.out_dir, "c21.png")], parts=parts)


# C22 ------------------------------------------------------------------------------------------------------------

CIRCULAR = [f"shift {d} px circular" for d in GRID["shifts"]]
LATTICE = 4  # two stride-2 subsamplings: the control's exact shifts are multiples of 4 px
AFTER_APS = ("s2", "c3", "s4.in", "s4", "c5")


def exactness(profiles: Sequence[Profile], kind: str, layers: Sequence[str], transforms: Sequence[str]) -> float:
    """The largest distance over seeds, layers and transforms (0 for an exact property)."""
    return worst(profiles, kind, layers, transforms)[0]


def worst(profiles: Sequence[Profile], kind: str, layers: Sequence[str], transforms: Sequence[str]
          ) -> tuple[float, str]:
    """The largest distance and where: '<layer>, <transform>, profile <i>' (trained seeds first)."""
    return max((at(p, kind, t, layer), f"{layer}, {t}, profile {i}") for i, p in enumerate(profiles)
               for layer in layers for t in transforms)


def judge_c22(m: dict) -> dict[str, Part]:
    aps, control = m["aps"], m["control"]
    return {"APS moves with every circular shift from s2 on": exact(
                aps["equivariance_after_aps"] <= MOVES, f"{aps['equivariance_after_aps']:.1e}"),
            "APS's output is exactly invariant to every circular shift": exact(
                aps["output_invariance"] <= EXACT, f"{aps['output_invariance']:.1e}"),
            f"the control's output is exactly invariant at {LATTICE} px": exact(
                control["output_invariance_on_lattice"] <= EXACT, f"{control['output_invariance_on_lattice']:.1e}"),
            "the control's output changes at 1-3 px": exact(
                control["output_invariance_off_lattice"] > EXACT, f"{control['output_invariance_off_lattice']:.1e}")}


def c22_measures(profiles: Sequence[Profile]) -> dict:
    off = [t for t, d in zip(CIRCULAR, GRID["shifts"]) if d % LATTICE]
    on = [t for t, d in zip(CIRCULAR, GRID["shifts"]) if not d % LATTICE]
    return {"equivariance_after_aps": exactness(profiles, "equivariance", AFTER_APS, CIRCULAR),
            "worst_equivariance_at": worst(profiles, "equivariance", AFTER_APS, CIRCULAR)[1],
            "output_invariance": exactness(profiles, "invariance", ["output"], CIRCULAR),
            "output_invariance_on_lattice": exactness(profiles, "invariance", ["output"], on),
            "output_invariance_off_lattice": min(at(p, "invariance", t, "output") for p in profiles for t in off)}


@claim(
    "C22", "APS moves with every shift from its first stage on; its control only on the stride lattice",
    lecture="Sec. 4: 'CNNs provide only local / weak translation invariance: weight sharing and pooling make the "
            "network less sensitive to small shifts within a receptive field'.",
    method=f"The layer profile under circular shifts of 1-4 px of the input canvas ({IMAGES}) "
           "of the APS net (circular padding, adaptive polyphase sampling, global average pooling; Chaman & "
           "Dokmanić 2021) and its control (the same net with max pooling: circular padding and GAP alone), each "
           "seed's tested checkpoint and at initialisation. Equivariance past an APS stage uses the best whole move "
           "per image (APS picks its own phase).",
    rule=f"HOLDS if, trained and untrained, the APS net's equivariance is at most {MOVES} at every layer from s2 on "
         f"(exact in exact arithmetic; in floats two phases of near-equal energy can swap, so a few images' maps take "
         f"another phase) and its output's invariance at most {EXACT:g} for every shift, while the control's output "
         f"is invariant within {EXACT:g} at {LATTICE} px and changes by more at 1-3 px; otherwise REFUTED (parts "
         "decided by the largest value over seeds, layers and shifts).",
    arms=(APS_ARM, CIRCULAR_GAP), judge=judge_c22, section=SECTION,
)
def c22(ctx: Context) -> Outcome:
    runs = {"aps": (APS_ARM, "APS"), "control": (CIRCULAR_GAP, "control (circular & GAP)")}
    profiles = {n: trained_profiles(ctx, arm) + untrained_profiles(ctx, arm) for n, (arm, _) in runs.items()}
    m = {n: c22_measures(p) for n, p in profiles.items()}
    parts = judge_c22(m)
    m["profile"] = {n: {t: curve(p, "invariance", t) for t in CIRCULAR} for n, p in profiles.items()}
    fig, (ax,) = new_figure(width=7)
    plot_profiles(ax, {f"{runs[n][1]}, {t.split(' ')[1]} px": m["profile"][n][t] for n in runs
                       for t in (CIRCULAR[0], CIRCULAR[-1])}, "invariance to a circular shift")
    ax.set(title="C22: APS and its control (trained and untrained seeds)")
    key = (f"APS: equivariance ≤ {m['aps']['equivariance_after_aps']:.1e} from s2 on, output ≤ "
           f"{m['aps']['output_invariance']:.1e}; control output {m['control']['output_invariance_on_lattice']:.1e} "
           f"at {LATTICE} px, ≥ {m['control']['output_invariance_off_lattice']:.3f} at 1-3 px")
    return Outcome(overall(parts), key, m, [save(fig, ctx.out_dir, "c22.png")], parts=parts)


# C23 ------------------------------------------------------------------------------------------------------------

QUARTER = "rotate 90 deg"
P4_MAPS = ("c1", "s2.in", "s2", "c3", "s4.in", "s4", "c5")


def judge_c23(m: dict) -> dict[str, Part]:
    return {"every p4 map turns exactly with a quarter turn (planes permute)": exact(
                m["equivariance"] <= EXACT, f"{m['equivariance']:.1e}"),
            "invariance appears at the rotation pool (f6, output exact)": exact(
                m["pooled_invariance"] <= EXACT, f"{m['pooled_invariance']:.1e}"),
            "not before it (c5 changes)": exact(m["c5_invariance"] > EXACT, f"{m['c5_invariance']:.3f}")}


@claim(
    "C23", "p4's maps turn exactly with a quarter turn; invariance appears at the rotation pool",
    lecture="Sec. 4: 'CNNs are not inherently invariant to translation, rotation, or scale.'",
    method=f"The layer profile of the p4 net (group convolutions over the four quarter turns, max over rotations "
           f"after C5; Cohen & Welling 2016) under an exact quarter turn of the input canvas (torch.rot90), on "
           f"{IMAGES}, each seed's tested checkpoint and at initialisation: the "
           "equivariance of every map to the turned map with its four planes rolled (the best roll), the invariance "
           "of every layer.",
    rule=f"HOLDS if, trained and untrained, every map's quarter-turn equivariance is at most {EXACT:g}, f6's and the "
         f"output's invariance at most {EXACT:g}, and c5's invariance above {EXACT:g}; otherwise REFUTED (exact "
         "parts).",
    arms=(P4,), judge=judge_c23, section=SECTION,
)
def c23(ctx: Context) -> Outcome:
    profiles = trained_profiles(ctx, P4) + untrained_profiles(ctx, P4)
    m = {"equivariance": exactness(profiles, "equivariance", P4_MAPS, [QUARTER]),
         "pooled_invariance": exactness(profiles, "invariance", ["f6", "output"], [QUARTER]),
         "c5_invariance": min(at(p, "invariance", QUARTER, "c5") for p in profiles),
         "profile": {kind: curve(profiles, kind, QUARTER) for kind in ("invariance", "equivariance")}}
    parts = judge_c23(m)
    fig, (ax,) = new_figure(width=7)
    plot_profiles(ax, {f"{kind} (trained and untrained seeds)": m["profile"][kind] for kind in m["profile"]},
                  "distance under a quarter turn")
    ax.set(title="C23: p4, layer by layer")
    key = (f"equivariance ≤ {m['equivariance']:.1e} at every map; f6/output invariance ≤ "
           f"{m['pooled_invariance']:.1e}; c5 ≥ {m['c5_invariance']:.3f}")
    return Outcome(overall(parts), key, m, [save(fig, ctx.out_dir, "c23.png")], parts=parts)


# C24 ------------------------------------------------------------------------------------------------------------


def judge_c24(m: dict) -> dict[str, Part]:
    c1 = m["c1"]
    return {"the same feature is detected anywhere (c1 moves with a 1-px shift)": at_most(
                c1["equivariance"], MOVES, unit=""),
            "... which is translation invariance (c1 unchanged by it)": replace(
                at_most(c1["invariance"], BARELY, unit=""), slip=True)}


@claim(
    "C24", "Parameter sharing enforces translation invariance",
    lecture="Sec. 3, 'Main ideas of CNNs', parameter sharing: 'This reduces the number of parameters and enforces "
            "translation invariance (the same feature can be detected anywhere in the input).'",
    method=f"LeNet-5's first convolution c1 (the shared 5x5 kernels), in the layer profile of each seed's tested "
           f"checkpoint and at initialisation (the sharing is structural): under a 1-px shift of the input canvas "
           f"({IMAGES}), its equivariance (the map moved 1 px) and its invariance (the "
           "map unmoved).",
    rule=f"The point, 'the same feature can be detected anywhere', is equivariance: it HOLDS if c1's equivariance is "
         f"below {MOVES} with 95% confidence over the trained and untrained seeds (REFUTED above). The word "
         f"'invariance' is a detail of the wording (a slip): it holds if c1's invariance is below {BARELY} with 95% "
         "confidence; refuted, the claim HOLDS WITH A CORRECTION (equivariance, not invariance).",
    arms=(BASELINE,), judge=judge_c24, section=SECTION,
)
def c24(ctx: Context) -> Outcome:
    profiles = trained_profiles(ctx, BASELINE) + untrained_profiles(ctx, BASELINE)
    m = {"c1": {kind: per_seed(profiles, lambda p, k=kind: at(p, k, SMALL, "c1"))
                for kind in ("equivariance", "invariance")}}
    parts = judge_c24(m)
    fig, (ax,) = new_figure(width=5)
    for i, kind in enumerate(("equivariance", "invariance")):
        mean, half = t_interval(m["c1"][kind])
        ax.bar(i, mean, yerr=half, capsize=4, color=("tab:green", "tab:red")[i])
    ax.set_xticks([0, 1], ["moved with the shift\n(equivariance)", "unmoved\n(invariance)"])
    ax.set(ylabel="||f(Tx) - T'f(x)|| / ||f(x)|| at c1", title="C24: c1 under a 1-px shift")
    key = f"c1 equivariance {fmt_mean(m['c1']['equivariance'])}, invariance {fmt_mean(m['c1']['invariance'])}"
    return Outcome(overall(parts), key, m, [save(fig, ctx.out_dir, "c24.png")], parts=parts)

