"""Every rule can fail: each current claim's judge, given numbers that contradict the claim, says REFUTED, and
given numbers that support it, HOLDS (a claim with a slip: HOLDS WITH A CORRECTION when only the slip is wrong)."""

import pytest

from cnnexp.claims.families import all_claims
from cnnexp.claims.registry import current
from cnnexp.claims.verdict import CORRECTED, HOLDS, INCONCLUSIVE, REFUTED, Part, at_most, beyond, greater, overall
from cnnexp.stats import seeds_for_difference, seeds_for_mean

CURRENT = current(all_claims())
LECTURE_SHAPES = {"input": [1, 32, 32], "c1": [6, 28, 28], "s2": [6, 14, 14], "c3": [16, 10, 10], "s4": [16, 5, 5],
                  "c5": [120, 1, 1], "f6": [84], "output": [10]}


def seeds(*values: float) -> list[float]:
    """Three seeds around each value: a spread small enough for a 95% interval to clear its margin."""
    (v,) = values
    return [v - 0.2, v, v + 0.2]


def fc_rows(conv_params=(608, 608)):
    return {"layers": [{"side": s, "inputs": 3 * s * s, "fc_unit_weights": 3 * s * s, "conv_params": c}
                       for s, c in zip((28, 200), conv_params)]}


def sizes(mismatches=(), fractional=0):
    return {"mismatches": list(mismatches), "lecture_example_side": 24, "unfloored_not_integer": fractional,
            "dilation1_cases": 357}


def conv_counts(weights=600, total=600):
    return {"weights": weights, "trainable_total": total, "lecture_total": 600, "biases": total - weights}


def sums(mc=0.001, equality=1.0):
    return {"max_abs_error": {"convolve_vs_exact": 0.0, "monte_carlo_vs_exact": mc, "uniform_density_vs_triangle": 0.0},
            "continuous_at_one": {"frequency_of_equality": equality, "integral": 1.0}}


def gradients(vs_sum=0.0, vs_average=0.0, stride_1=4):
    return {"max_abs_diff": {"autograd_vs_sum": vs_sum, "autograd_vs_correlation": 0.0,
                             "autograd_vs_average": vs_average},
            "receptive_fields": {"stride_1": stride_1, "stride_2": 4}}


def stages(support=(5, 6, 14, 16, 32)):
    return {"stages": [{"analytic_rf": a, "gradient_support": g} for a, g in zip((5, 6, 14, 16, 32), support)]}


def matrix(nonzeros=25):
    return {"max_abs_diff": {"unfold_matmul": 0.0, "explicit_matrix": 0.0}, "nonzeros_per_row": [nonzeros],
            "distinct_weights": 150}


def pooling(pooled_consistency=80.0, in_frame=60.0):
    pooled = {"consistency": seeds(pooled_consistency), "small_shift_acc": seeds(95), "clean_acc": seeds(99),
              "in_frame_acc": seeds(in_frame)}
    none = {"consistency": seeds(70), "small_shift_acc": seeds(90), "clean_acc": seeds(99), "in_frame_acc": seeds(50)}
    return {"max": pooled, "avg": pooled, "blur": pooled, "none": none}


def loss_rows(probe_2x2=90.0):
    rows = [{"pooling": k, "window": w, "images_with_collision": 1.0, "best_relative_error": 0.1 * w}
            for k in ("max", "avg") for w in (2, 3)]
    return {"pooling": rows, "probe_acc": {"unpooled": 90.0, "max 2x2": probe_2x2, "max 3x3": 89.0,
                                           "avg 2x2": 91.0, "avg 3x3": 90.0}}


def lattice(on_change=1e-6):
    return {"shifts": [{"on_lattice": True, "agreement_%": 100.0, "max_logit_change": on_change},
                       {"on_lattice": False, "agreement_%": 97.0, "max_logit_change": 0.5}]}


def aps(clean=98.0, untrained=1e-7):
    return {"untrained_max_logit_change": [untrained] * 3, "circular": [100.0] * 3, "clean_acc": seeds(clean),
            "control_clean_acc": seeds(98.0)}


def ladder(augmentation_gain=5.0):
    base = {"zero-fill consistency": seeds(60), "circular consistency": seeds(60), "accuracy at ±6 px": seeds(20)}
    gap = base | {"zero-fill consistency": seeds(90), "circular consistency": seeds(90)}
    blur = gap | {"zero-fill consistency": seeds(95)}
    aps_ = gap | {"circular consistency": [100.0] * 3, "accuracy at ±6 px": seeds(25)}
    aug = aps_ | {"accuracy at ±6 px": seeds(25 + augmentation_gain)}
    return {"LeNet-5": base, "+ circular & GAP": gap, "+ blur": blur, "+ APS": aps_, "+ APS & shift augmentation": aug}


# claim id -> (numbers that support it, numbers that contradict it[, numbers where only a slip is wrong])
def lenet5_profile(s4_gain=0.1):
    small = [0.001, 0.002, 0.003]
    return {"c1_equivariance": small, "c1_invariance": [0.6, 0.65, 0.7],
            "gain": {"s2": [0.14, 0.15, 0.16], "s4": [s4_gain - 0.01, s4_gain, s4_gain + 0.01], "head": [0.02] * 3}}


def pooling_gains(blur=0.2):
    near = [-0.01, 0.0, 0.01]
    return {"s2_gain": {"max": [0.1 + v for v in near], "avg": [0.12 + v for v in near],
                        "blur": [blur + v for v in near], "none": [0.0 + v for v in near]}}


def aps_profile(control_off_lattice=0.3):
    return {"aps": {"equivariance_after_aps": 1e-6, "output_invariance": 1e-6},
            "control": {"output_invariance_on_lattice": 1e-6, "output_invariance_off_lattice": control_off_lattice}}


def c1_profile(equivariance, invariance):
    return {"c1": {"equivariance": [equivariance * f for f in (0.9, 1.0, 1.1)],
                   "invariance": [invariance * f for f in (0.9, 1.0, 1.1)]}}


def p4_profile(equivariance=1e-6):
    return {"equivariance": equivariance, "pooled_invariance": 1e-6, "c5_invariance": 0.4}


EVIDENCE = {
    "C01": (fc_rows(), fc_rows(conv_params=(608, 9_608))),
    "C02": ({"lecture": LECTURE_SHAPES, "lenet5": {"shapes": LECTURE_SHAPES},
             "lenet5_1998": {"shapes": LECTURE_SHAPES}},
            {"lecture": LECTURE_SHAPES, "lenet5": {"shapes": LECTURE_SHAPES | {"c1": [6, 24, 24]}},
             "lenet5_1998": {"shapes": LECTURE_SHAPES}}),
    "C03v2": (sizes(), sizes(mismatches=[{"W": 7}]), sizes(fractional=137)),
    "C04v2": (conv_counts(), conv_counts(weights=480, total=488), conv_counts(total=608)),
    "C05": ({"max_abs_diff": {"conv2d_vs_correlate2d": 0.0, "conv2d_flipped_vs_convolve2d": 0.0,
                              "conv2d_unflipped_vs_convolve2d": 5.0}},
            {"max_abs_diff": {"conv2d_vs_correlate2d": 5.0, "conv2d_flipped_vs_convolve2d": 5.0,
                              "conv2d_unflipped_vs_convolve2d": 0.0}}),
    "C06v2": (sums(), sums(mc=0.05), sums(equality=0.0)),
    "C07v2": (gradients(), gradients(vs_sum=1.0), gradients(vs_average=2.6, stride_1=9)),
    "C08": (stages(), stages(support=(5, 6, 10, 16, 32))),
    "C09": (matrix(), matrix(nonzeros=784)),
    "C10v2": (pooling(), pooling(pooled_consistency=99.9)),
    "C11": ({"drops": {"rotate ±45°": seeds(45), "scale 0.5": seeds(30)}},
            {"drops": {"rotate ±45°": seeds(0.5), "scale 0.5": seeds(30)}}),
    "C12": ({"shift": {"augmented": seeds(80), "none": seeds(60)}},
            {"shift": {"augmented": seeds(55), "none": seeds(60)}}),
    "C13v2a": ({"cnn": {"shift_auc": seeds(65)}, "cnn without pooling": {"shift_auc": seeds(60)},
                "mlp": {"shift_auc": seeds(47)}},
               {"cnn": {"shift_auc": seeds(65)}, "cnn without pooling": {"shift_auc": seeds(40)},
                "mlp": {"shift_auc": seeds(47)}}),
    "C13v2b": ({"cnn": {"clean_acc": seeds(99), "by_shift": {4: seeds(98)}}},
               {"cnn": {"clean_acc": seeds(99), "by_shift": {4: seeds(48)}}}),
    "C14v2": ({"cnn": {"pgd_drop": seeds(60)}}, {"cnn": {"pgd_drop": seeds(1)}}),
    "C15v2": (loss_rows(), loss_rows(probe_2x2=70.0)),
    "C16v2": (aps(), aps(clean=90.0)),
    "C17": (lattice(), lattice(on_change=0.3)),
    "C18": ({"p4_agreement": [[1.0, 1.0, 1.0]] * 3, "lenet5_drop": seeds(60)},
            {"p4_agreement": [[1.0, 0.98, 1.0]] * 3, "lenet5_drop": seeds(60)}),
    "C19v2": (ladder(), ladder(augmentation_gain=0.0)),
    "C20": (lenet5_profile(), lenet5_profile(s4_gain=-0.1)),
    "C21": (pooling_gains(), pooling_gains(blur=0.05)),
    "C22": (aps_profile(), aps_profile(control_off_lattice=0.0)),
    "C23": (p4_profile(), p4_profile(equivariance=0.02)),
    "C24": (c1_profile(0.002, 0.05), c1_profile(0.5, 0.6), c1_profile(0.002, 0.6)),
}


def test_every_current_claim_has_a_judge_and_synthetic_evidence():
    assert set(EVIDENCE) == set(CURRENT)
    assert all(c.judge is not None for c in CURRENT.values())


@pytest.mark.parametrize("cid", sorted(CURRENT))
def test_rule_refutes_contradicting_numbers_and_holds_on_supporting_ones(cid):
    judge = CURRENT[cid].judge
    support, contradict, *slipped = EVIDENCE[cid]
    assert overall(judge(support)) == HOLDS, judge(support)
    assert overall(judge(contradict)) == REFUTED, judge(contradict)
    if slipped:  # the point holds, a detail of the wording does not
        assert overall(judge(slipped[0])) == CORRECTED, judge(slipped[0])


def test_untrained_exactness_is_judged_on_logits():
    assert overall(CURRENT["C16v2"].judge(aps(untrained=0.3))) == REFUTED


def test_replacements_name_an_earlier_claim_and_why():
    claims = all_claims()
    for c in claims.values():
        if c.replaces:
            assert c.replaces in claims and not claims[c.replaces].replaces and len(c.reason) > 40


def test_overall_and_checks():
    assert overall({"a": Part(HOLDS), "b": Part(REFUTED, slip=True)}) == CORRECTED
    assert overall({"a": Part(INCONCLUSIVE), "b": Part(REFUTED, slip=True)}) == INCONCLUSIVE
    assert overall({"a": Part(HOLDS), "b": Part(REFUTED)}) == REFUTED
    assert overall({"a": "PASS", "b": "FAIL"}) == REFUTED  # rules registered with PASS/FAIL
    assert overall({"a": Part(HOLDS)}, checks={"exact by construction": False}) == INCONCLUSIVE


def test_inconclusive_parts_say_how_many_seeds_would_decide_them():
    part = greater([91.0, 92.5, 90.0], [90.0, 91.0, 89.5], margin=0.0)
    assert part.verdict == INCONCLUSIVE and 3 < part.seeds_needed < 100
    assert seeds_for_difference([91.0, 92.5, 90.0], [90.0, 91.0, 89.5], 0.0) == part.seeds_needed
    # C14 as measured: a 22.57-point mean drop, 13.37 half-width over 3 seeds, against the 20-point margin. By hand:
    # sd = 5.381; at n = 20, t(19) 2.093 * 5.381 / sqrt(20) = 2.52 < 2.57; at n = 19, t(18) 2.101 * 5.381 / sqrt(19)
    # = 2.59 > 2.57.
    sd = 13.37 * 3**0.5 / 4.303
    drops = [22.57 - sd, 22.57, 22.57 + sd]
    assert beyond(drops, above=20, below=5).seeds_needed == seeds_for_mean(drops, 20) == 20
    assert beyond([10.0, 12.0, 14.0], above=20, below=5).seeds_needed is None  # between the margins: never
    assert at_most(seeds(2.0), 5.0).verdict == HOLDS and at_most(seeds(9.0), 5.0).verdict == REFUTED
