"""cnnexp-claims: every closed-form claim's numbers, the verdict rules, a tiny end-to-end run, the cache."""

import json
import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from cnnexp.claims import layer_profile, remedies
from cnnexp.claims.arms import APS_ARM, BASELINE, MLP, P4
from cnnexp.claims.families import all_claims
from cnnexp.claims.registry import Context, current
from cnnexp.claims.report import MARK
from cnnexp.claims.trainings import Runs, Trained, as_overrides
from cnnexp.claims.verdict import HOLDS, INCONCLUSIVE, REFUTED, combine, greater
from tests.conftest import refused

CLAIMS = all_claims()


def check(cid: str, tmp_path: Path, data_dir: Path | None = None):
    outcome = CLAIMS[cid].check(Context(out_dir=tmp_path, seed=0, data_dir=data_dir))
    for name in outcome.figures:
        assert (tmp_path / name).stat().st_size > 1000
    return outcome


def test_registry_numbers_every_claim_and_keeps_each_earlier_version():
    assert all(re.fullmatch(r"C\d\d(v\d+[a-z]?)?", i) for i in CLAIMS) and list(CLAIMS) == sorted(CLAIMS)
    bases = sorted({i[:3] for i in CLAIMS})
    assert bases == [f"C{n:02d}" for n in range(1, len(bases) + 1)]  # no gap in the lecture's numbering
    assert set(current(CLAIMS)) | {c.replaces for c in CLAIMS.values() if c.replaces} == set(CLAIMS)
    # C01-C15: the lecture's; C16-C19: the remedies, beyond it; C20-: where invariance comes from, each testing a
    # sentence of the lecture through the layer profile. Each group beyond the lecture has a section of its own.
    sections = {range(1, 16): ("Sec.", ""), range(16, 20): ("Beyond the lecture.", remedies.SECTION),
                range(20, 100): ("Sec.", layer_profile.SECTION)}
    for id, claim in CLAIMS.items():
        assert claim.rule and claim.method
        quotes, section = next(v for r, v in sections.items() if int(id[1:3]) in r)
        assert claim.lecture.startswith(quotes) and claim.section == section, id


def test_c01_fc_weights_grow_with_pixels_conv_weights_do_not(tmp_path):
    out = check("C01", tmp_path)
    layers = {r["side"]: r for r in out.evidence["layers"]}
    assert out.verdict == HOLDS and layers[200]["fc_unit_weights"] == 120_000
    assert layers[28]["fc_unit_weights"] == 3 * 28 * 28 and {r["conv_params"] for r in layers.values()} == {608}
    assert layers[200]["conv_output"] == [8, 196, 196]


def test_c02_lenet5_shapes_and_parameter_counts(tmp_path):
    out = check("C02", tmp_path)
    assert out.verdict == HOLDS
    assert out.evidence["lenet5"]["shapes"]["s4"] == [16, 5, 5] and out.evidence["lenet5"]["total_params"] == 61_706
    assert out.evidence["lenet5_1998"]["total_params"] == 60_000
    assert out.evidence["lenet5_1998"]["params"]["c3"] == 1_516


def test_c03_floored_formula_matches_pytorch_and_counts_fractional_cases(tmp_path):
    out = check("C03", tmp_path)
    assert out.verdict == HOLDS and out.evidence["lecture_example_side"] == 24
    assert out.evidence["mismatches"] == [] and out.evidence["layer_comparisons"] > 1000
    assert 0 < out.evidence["unfloored_not_integer"] < out.evidence["dilation1_cases"] and out.notes


def test_c04_lecture_total_omits_the_biases(tmp_path):
    out = check("C04", tmp_path)
    assert out.verdict == REFUTED
    assert (out.evidence["weights"], out.evidence["biases"], out.evidence["trainable_total"]) == (600, 8, 608)
    assert out.evidence["trainable_total_bias_false"] == 600 and "bias=False" in out.notes[0]


def test_c05_conv2d_is_cross_correlation(tmp_path):
    out = check("C05", tmp_path)
    diffs = out.evidence["max_abs_diff"]
    assert out.verdict == HOLDS and diffs["conv2d_vs_correlate2d"] < 1e-10
    assert diffs["conv2d_unflipped_vs_convolve2d"] > 1


def test_c06_sum_of_dice_is_the_convolution(tmp_path):
    out = check("C06", tmp_path)
    assert out.verdict == HOLDS
    assert out.evidence["exact_pmf"][5] == pytest.approx(6 / 36)  # P(sum = 7)
    assert out.evidence["max_abs_error"]["monte_carlo_vs_exact"] <= out.evidence["mc_tolerance"]


def test_c07_gradient_is_the_sum_and_the_worked_example_miscounts(tmp_path):
    import torch

    from cnnexp.claims.backprop import kernel_gradients

    out = check("C07", tmp_path)
    assert out.verdict == REFUTED  # the example's "4 receptive fields" is wrong at stride 1
    assert out.evidence["receptive_fields"] == {"stride_1": 9, "stride_2": 4}
    assert out.evidence["checks"]["autograd = sum over positions"] and out.evidence["checks"]["autograd = X ⋆ dL/dy"]
    grad, parts = kernel_gradients(torch.ones(5, 5), torch.ones(3, 3), torch.ones(2, 2), stride=2)
    assert len(parts) == 4 and torch.equal(grad, torch.full((3, 3), 4.0))


def test_c08_receptive_fields_of_lenet5(tmp_path):
    out = check("C08", tmp_path)
    assert out.verdict == HOLDS
    assert [s["gradient_support"] for s in out.evidence["stages"]] == [5, 6, 14, 16, 32]


def test_c09_conv_as_sparse_shared_matrix(tmp_path):
    out = check("C09", tmp_path)
    assert out.verdict == HOLDS and out.evidence["matrix_shape"] == [3456, 784]
    assert out.evidence["nonzero_fraction"] == pytest.approx(25 / 784) and out.evidence["distinct_weights"] == 150


@pytest.mark.slow
def test_c15_pooling_loses_information_on_real_digits(tmp_path, data_dir):
    out = check("C15", tmp_path, data_dir)
    assert out.verdict == HOLDS and out.evidence["images"] == 10_000
    rows = {(r["pooling"], r["window"]): r for r in out.evidence["pooling"]}
    assert rows[("max", 2)]["values_kept"] == 0.25 and rows[("max", 3)]["map_side"] == 10
    assert out.evidence["downstream"]["window_2"]["s2_activations"] == 6 * 14 * 14


def test_greater_gives_each_verdict():
    assert greater([0.9, 0.91, 0.92], [0.80, 0.81, 0.79]).verdict == HOLDS
    assert greater([0.70, 0.71, 0.69], [0.80, 0.81, 0.79]).verdict == REFUTED
    assert greater([0.80, 0.90, 0.70], [0.80, 0.81, 0.79]).verdict == INCONCLUSIVE
    assert combine([HOLDS, HOLDS]) == HOLDS and combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([INCONCLUSIVE, REFUTED, HOLDS]) == REFUTED


def fake_run(arm: str, seed: int, consistency: float, shift_accs: dict[int, float]) -> Trained:
    """A run whose invariance curves are made up: the verdict rules without any training."""
    values = list(range(-6, 7))
    curve = {"values": values, "acc": [shift_accs[abs(v)] / 100 for v in values]}
    return Trained(arm, seed, Path(arm), {"test/acc": shift_accs[0] / 100}, {"shift_x": curve, "shift_y": curve,
               "consistency": {"value": consistency}})


class FakeRuns:
    def __init__(self, table):
        self.table = table

    def get(self, arm, overrides):
        return [fake_run(arm, s, *self.table[arm][s]) for s in range(3)]


def shifts(start: float, step: float) -> dict[int, float]:
    return {d: start - step * d for d in range(7)}


@pytest.mark.parametrize("none_consistency, none_drop, falls, expected", [
    (0.80, 3.0, True, HOLDS),          # pooling clearly more consistent and accurate, invariance partial
    (0.95, 0.5, True, REFUTED),        # no pooling beats every pooled variant
    (0.90, 2.0, True, INCONCLUSIVE),   # differences inside the noise
    (0.80, 3.0, False, REFUTED),       # accuracy does not fall with the shift: not "local"
])
def test_c10_verdict_rule_on_synthetic_runs(tmp_path, none_consistency, none_drop, falls, expected):
    noise = (-0.01, 0.0, 0.012)
    pooled = {s: (0.9 + noise[s], shifts(99, 2 if falls else 0)) for s in range(3)}
    none = {s: (none_consistency + noise[s] * (3 if expected == INCONCLUSIVE else 1), shifts(99, none_drop))
            for s in range(3)}
    table = {"pool-max": pooled, "pool-avg": pooled, "pool-blur": pooled, "pool-none": none}
    out = CLAIMS["C10"].check(Context(out_dir=tmp_path, seed=0, runs=FakeRuns(table)))
    assert out.verdict == expected, out.parts


def test_claims_trainings_log_to_short_tensorboard_run_names(tmp_path, data_dir):
    """`<arm>/seed<N>` under the claims dir's tensorboard/; a stale run's events there (other settings) go."""
    stale = tmp_path / "tensorboard" / "pool-max" / "seed0"
    stale.mkdir(parents=True)
    (stale / "events.out.tfevents.0.old").write_bytes(b"")
    for seed, _, cfg in Runs(tmp_path, [0, 1], [], data_dir).configs(*BASELINE):
        tb = OmegaConf.to_container(cfg.logger.tensorboard, resolve=True)
        assert Path(tb["save_dir"], tb["name"], tb["version"]) == tmp_path / "tensorboard" / "pool-max" / f"seed{seed}"
    assert not stale.exists()


def test_workers_get_the_longest_trainings_first(tmp_path, data_dir, monkeypatch):
    """Submitted in order of the model's forward FLOPs, so a two-worker pool ends on short trainings."""
    from concurrent.futures import Future

    from cnnexp.claims import trainings

    submitted = []

    class Pool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, config):
            submitted.append(config["model"]["_target_"].rsplit(".", 1)[-1] + ":" + config["model"].get("pooling", ""))
            done = Future()
            done.set_result(0.0)
            return done

    monkeypatch.setattr(trainings, "ProcessPoolExecutor", Pool)
    Runs(tmp_path, [0], [], data_dir, workers=2).train_missing([MLP, BASELINE, APS_ARM, P4])
    assert submitted == ["LeNet5:aps", "LeNet5P4:max", "LeNet5:max", "MLP:"]


def test_profile_values_become_train_overrides():
    assert as_overrides({"data": {"train_size": 500}, "trainer": {"max_epochs": 1}, "invariance": {"fgsm": [0.0, 0.1]}}
                        ) == ["data.train_size=500", "trainer.max_epochs=1", "invariance.fgsm=[0.0, 0.1]"]


def claims(cli, tmp_path: Path, data_dir: Path, *args: str):
    """cnnexp-claims writing into tmp_path/claims, in this process (conftest.cli): profile.workers=1 trains in the
    command's own, more workers in the processes it starts."""
    return cli("cnnexp.cli.claims", [f"paths.data_dir={data_dir}", f"hydra.run.dir={tmp_path / 'claims'}", *args],
               tmp_path)


@pytest.mark.parametrize("args, fragment", [
    (["claims=[C10,C99]"], "unknown claim id(s) C99"),
    (["profile.seeds=[0]"], "at least 3 seeds"),
    (["claims=[C17]", "profile.workers=0"], "profile.workers=0: must be an integer >= 1"),
    (["claims=[C10]", "+profile.train.model.kernel_size=0"], "model.kernel_size=0"),
    (["profile=tiny"], "profile"),
])
def test_bad_claims_input_is_refused_before_any_training(tmp_path, data_dir, args, fragment, cli):
    assert fragment in refused(claims(cli, tmp_path, data_dir, *args))
    assert not (tmp_path / "claims" / "trainings").exists()


TINY = ["profile.name=tiny", "profile.train.data.train_size=300", "++profile.train.data.val_size=500",
        # The suite on 60 images: it was most of a tiny training (the test on all 10,000 images is the rest).
        "profile.train.trainer.max_epochs=1", "++profile.train.invariance.num_images=60",
        "++profile.train.invariance.equivariance_images=20", "++profile.train.invariance.layers.images=25",
        # No per-training figures: drawing them was half of a tiny training (the claims draw their own).
        "++profile.train.invariance.figures=false"]
# Eager evaluation: at 60 suite images a compile per model and worker costs more than it saves (the remedy
# test, compiled: 285 s in the full suite, most graphs compiled cold; alone with them cached 78 s, eager 66 s).
# tests/test_eval.py checks the compiled path's results, test_invariant_models.py that it keeps APS exact.
EAGER = "profile.train.eval_compile=false"


def tiny_claims(cli, tmp_path: Path, data_dir: Path, *args: str) -> tuple[Path, dict]:
    """cnnexp-claims on the tiny profile: its output dir and claims.json."""
    proc = claims(cli, tmp_path, data_dir, *args, *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "claims"
    return out, json.loads((out / "claims.json").read_text())


LECTURE = "claims=[C04,C10v2,C11,C12,C13v2a,C13v2b,C14v2,C21]"
BEYOND = "claims=[C16v2,C17,C18,C19v2,C20,C22,C23,C24]"


@pytest.mark.slow
def test_trained_claims_end_to_end_and_cached(tmp_path, data_dir, cli):
    """Every trained claim in one tiny run (the trainings they share are trained once), then again from the cache.
    The command runs in this process; its trainings in the profile's two worker processes."""
    ids = ",".join(c.split("=[")[1].rstrip("]") for c in (LECTURE, BEYOND))
    out, result = tiny_claims(cli, tmp_path, data_dir, f"claims=[{ids}]", EAGER)
    check_lecture_claims(out, result)
    check_remedy_claims(out, result)
    # From the cache: the lecture's 8 arms x 3 seeds, through the claims that judge them in seconds (C14v2's PGD and
    # C21's layer profiles read the same arms as C14 and C10v2).
    again = claims(cli, tmp_path, data_dir, "claims=[C04,C10v2,C11,C12,C13v2a,C13v2b,C14]", *TINY, EAGER)
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads((out / "claims.json").read_text())
    assert second["trainings"]["trained"] == 0 and second["trainings"]["cached"] == 24
    verdicts = {c["id"]: c["verdict"] for c in result["claims"]}
    assert [c["verdict"] for c in second["claims"]] == [verdicts[c["id"]] for c in second["claims"]]


def check_lecture_claims(out: Path, result: dict) -> None:
    # C10-C14 and C21: 8 arms x 3 seeds; the ladder's four rungs and p4 x 3 seeds (the baseline is C10's).
    assert result["profile"] == "tiny" and result["trainings"] == {**result["trainings"], "trained": 39, "cached": 0}
    # Each new version brings the earlier one it replaces, judged on the same trainings.
    assert [c["id"] for c in result["claims"]] == ["C04", "C10", "C10v2", "C11", "C12", "C13", "C13v2a", "C13v2b",
                                                   "C14", "C14v2", "C16", "C16v2", "C17", "C18", "C19", "C19v2",
                                                   "C20", "C21", "C22", "C23", "C24"]
    for c in result["claims"]:
        assert set(c) >= {"id", "title", "lecture", "method", "verdict", "rule", "evidence", "figures", "parts"}
        assert c["verdict"] in MARK and all(p["verdict"] in MARK for p in c["parts"].values())
        assert all((out / f).is_file() for f in c["figures"])
        if c["id"] != "C04":
            assert c["figures"]
    c12 = next(c for c in result["claims"] if c["id"] == "C12")["evidence"]
    assert set(c12["arms"]) == {"shift", "rotate", "scale"} and len(c12["clean_acc_none"]["seeds"]) == 3
    report = (out / "report.md").read_text()
    c21 = next(c for c in result["claims"] if c["id"] == "C21")["evidence"]  # the pooling arms C10 trained
    assert set(c21["s2_gain"]) == {"max", "avg", "blur", "none"} and all(len(v) == 3 for v in c21["s2_gain"].values())
    assert report.count("\n## C") == 21 and "| id | claim | verdict | earlier version | key number |" in report
    assert "![C10](c10.png)" in report and "bias=False" in report and "**How to read a verdict.**" in report
    assert "| [C10v2](#c10v2) |" in report and "| [C10](#c10) |" not in report  # earlier versions: no row
    c14 = next(c for c in result["claims"] if c["id"] == "C14v2")["evidence"]
    assert c14["pgd_steps"] == 10 and len(c14["drop_points"]["cnn"]["pgd_drop"]["seeds"]) == 3
    assert c14["images"] == 60  # the profile's curve images, fewer than PGD's 2,000
    from tbparse import SummaryReader

    text = SummaryReader(str(out / "tensorboard")).text
    assert {"claims/0_summary", "claims/C10"} <= set(text["tag"])
    # TensorBoard's run names: `<arm>/seed<N>`, beside the report's own run (".").
    runs = {str(p.parent.relative_to(out / "tensorboard")) for p in (out / "tensorboard").rglob("events.out.*")}
    assert {".", "pool-max/seed0", "pool-none/seed2", "augment-rotate/seed1", "mlp/seed0"} <= runs
    assert all(r == "." or re.fullmatch(r"[a-z0-9-]+/seed\d", r) for r in runs), runs
    # Their HParams columns: the experiment summary marks where the arms differ (pooling, augmentation, model).
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams.metadata import parse_experiment_plugin_data

    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    infos = parse_experiment_plugin_data(acc.PluginTagToContent("hparams")["_hparams_/experiment"]).hparam_infos
    assert {"model", "model/pooling", "augment", "seed"} <= {i.name for i in infos if i.differs}




@pytest.mark.slow
def test_claims_on_fashion_mnist_name_their_dataset_and_train_on_it(tmp_path, fashion_dir, cli):
    # One training at a time, in this process (the profile's workers=2 path runs in the end-to-end test); C13's two arms
    # (LeNet-5 and the MLP) are the cheapest trained claim.
    out, result = tiny_claims(cli, tmp_path, fashion_dir, "data=fashion_mnist", "claims=[C04,C13,C15]",
                              "profile.workers=1", EAGER)
    assert result["dataset"] == "Fashion-MNIST"
    data = {c["id"]: c["data"] for c in result["claims"]}
    assert data["C04"].startswith("none") and data["C15"] == "Fashion-MNIST: its official test images"
    assert data["C13"].startswith("Fashion-MNIST: trained on its training split")
    report = (out / "report.md").read_text()
    assert report.startswith("# The lecture's claims, checked on Fashion-MNIST")
    assert "10,000-image Fashion-MNIST test set" in report and "MNIST test" not in report.replace("Fashion-MNIST", "")
    for ckpt in (out / "trainings").glob("*/checkpoints/last.ckpt"):
        assert torch.load(ckpt, weights_only=True)["cnnexp_config"]["data"]["name"] == "fashion_mnist"
    assert len(list((out / "trainings").glob("*/checkpoints/last.ckpt"))) == 6  # 2 arms x 3 seeds


def check_remedy_claims(out: Path, result: dict) -> None:
    # LeNet-5 and four ladder rungs and the p4 net, 3 seeds each: the baseline is the one C10-C14 use.
    arms = {p.name.split("_seed")[0] for p in (out / "trainings").iterdir()}
    assert {a for a in arms if a.startswith(("ladder-", "p4"))} == {"ladder-aps", "ladder-aps-shift", "ladder-blur",
                                                                    "ladder-circular-gap", "p4"} and "pool-max" in arms
    claims = {c["id"]: c for c in result["claims"]}
    c16 = claims["C16"]["evidence"]
    # Exact whatever the training: 100% for every seed, trained and at initialisation.
    assert c16["circular_consistency_trained"]["seeds"] == [100.0] * 3
    assert c16["circular_consistency_untrained"]["seeds"] == [100.0] * 3
    assert c16["largest_logit_change_circular_shift"] < 1e-4
    assert len(c16["classes_predicted_untrained"]) == 3 and "classes" in claims["C16"]["key"]
    lattice = [r for r in claims["C17"]["evidence"]["shifts"] if r["on_lattice"]]
    assert len(lattice) == 6 and all(r["agreement_%"] == 100 and r["max_logit_change"] < 1e-4 for r in lattice)
    assert claims["C18"]["evidence"]["agreement_quarter_turns_p4"] == [[1.0, 1.0, 1.0]] * 3
    parts = claims["C19"]["parts"]
    assert parts["+ APS: exact on every seed"]["verdict"] == parts["+ APS & shift augmentation: exact on every seed"][
        "verdict"] == HOLDS
    # C16v2 judges the untrained nets on their logits, and says how many classes each predicts.
    untrained = claims["C16v2"]["evidence"]["untrained"]
    assert [r["seed"] for r in untrained] == [0, 1, 2] and all(r["max_logit_change"] < 1e-4 for r in untrained)
    assert all(1 <= r["classes_predicted"] <= 10 for r in untrained)
    assert set(claims["C19v2"]["checks"]) == {"+ APS: exact on every seed (construction)",
                                              "+ APS & shift augmentation: exact on every seed (construction)"}
    report = (out / "report.md").read_text()
    assert "\n# What makes a CNN invariant (beyond the lecture)\n" in report
    assert "| | **What makes a CNN invariant (beyond the lecture)** | | |" in report
    assert all((out / f"c{i}.png").is_file() for i in (16, 17, 18, 19, 20, 22, 23, 24))
    # The layer profile's exact properties hold whatever the training (the same arms, trained and at initialisation).
    assert claims["C22"]["verdict"] == HOLDS, claims["C22"]["parts"]
    assert claims["C23"]["verdict"] == HOLDS, claims["C23"]["parts"]
    c24 = claims["C24"]["parts"]["the same feature is detected anywhere (c1 moves with a 1-px shift)"]
    assert c24["verdict"] == HOLDS, c24
    assert len(claims["C20"]["evidence"]["c1_invariance"]) == 3 and "most at" in claims["C20"]["key"]
    assert "\n# Where invariance comes from (beyond the lecture)\n" in report
    rung = next((out / "trainings").glob("ladder-aps_seed0_*"))
    ladder = json.loads((rung / "invariance.json").read_text())
    assert (rung / "invariance.csv").is_file() and not list(rung.glob("*.png"))  # invariance.figures=false
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard" / "ladder-aps" / "seed0"))
    events.Reload()
    assert "test/acc" in events.Tags()["scalars"] and not [t for t in events.Tags()["images"] if "invariance" in t]
    assert "rotate" not in ladder and ladder["protocol"]["schema"] >= 2
    # What no claim reads of a rung is not computed; what C16, C17 and C19 read is.
    assert {"quarter_turns", "equivariance"}.isdisjoint(ladder)
    assert {"consistency", "circular_consistency", "circular_shifts"} <= set(ladder)
    blur = json.loads(next((out / "trainings").glob("ladder-blur_seed0_*/invariance.json")).read_text())
    assert "circular_consistency" in blur and "circular_shifts" not in blur  # C19 reads no logit change of it


def test_report_in_tensorboard_text_renders_without_html_anchors_or_file_links(tmp_path):
    """TensorBoard's Text tab: no literal <details>, no in-page links, no links to figure files; summary first."""
    import matplotlib.pyplot as plt
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugin_util import markdown_to_safe_html

    from cnnexp.claims.report import log_to_tensorboard

    plt.imsave(tmp_path / "c10.png", [[0.0, 1.0]])
    record = {"id": "C10", "title": "pooling", "lecture": "says", "method": "m", "verdict": HOLDS, "rule": "r",
              "key": "k", "evidence": {"runs": [{"arm": "pool-max", "acc": 0.9}]}, "figures": ["c10.png"],
              "notes": [], "trained": True, "data": "d", "section": "Pooling"}
    result = {"dataset": "mnist", "profile": "tiny", "claims": [record], "wall_s": 1.0, "machine": "cpu",
              "trainings": {"trained": 3, "fit_s": 1.0, "cached": 0}, "seeds": [0, 1, 2], "curve_images": None}
    log_to_tensorboard(result, tmp_path)
    acc = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = sorted(t for t in acc.Tags()["tensors"] if t.endswith("text_summary"))
    assert tags[0].startswith("claims/0_summary")
    for tag in tags:
        html = markdown_to_safe_html(acc.Tensors(tag)[0].tensor_proto.string_val[0].decode())
        assert "&lt;" not in html and 'href="#' not in html and "<img" not in html, html
    assert "<table>" in html and "claims/C10/c10" in html


def test_verdicts_at_two_budgets_mark_the_ones_that_differ(tmp_path):
    from cnnexp.claims.budgets import compare, read_other, verdicts
    from cnnexp.claims.report import markdown

    def record(cid, verdict, trained=True):
        return {"id": cid, "title": cid, "lecture": "Sec. 1", "method": "m", "verdict": verdict, "rule": "r",
                "key": f"{cid} key", "parts": {}, "checks": {}, "evidence": {}, "figures": [], "notes": [],
                "trained": trained, "data": "d", "section": "", "replaces": "", "reason": ""}

    quick = {"dataset": "MNIST", "profile": "quick", "seeds": [0, 1, 2], "machine": "cpu", "wall_s": 1.0,
             "curve_images": None, "trainings": {"trained": 0, "fit_s": 0.0, "cached": 3},
             "claims": [record("C01", HOLDS, trained=False), record("C11", HOLDS), record("C16", INCONCLUSIVE)]}
    long = verdicts(quick | {"profile": "long", "claims": [record("C01", HOLDS, False), record("C11", INCONCLUSIVE),
                                                             record("C16", INCONCLUSIVE)]})
    (tmp_path / "long.json").write_text(json.dumps(long))
    (tmp_path / "cut.json").write_text(json.dumps(long)[:50])
    assert read_other(tmp_path / "cut.json") is None and read_other(tmp_path / "absent.json") is None
    compare(quick, read_other(tmp_path / "long.json"), "long.json")
    assert quick["budgets"]["sensitive"] == ["C11"] and "budget" not in quick["claims"][0]  # C01 trains nothing
    report = markdown(quick)
    assert "| [C11](#c11) | C11 | ✅ HOLDS **budget-sensitive** |" in report and "**budget-sensitive**" not in (
        report.split("| [C16](#c16)")[1].split("\n")[0])
