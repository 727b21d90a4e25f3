"""Invariance transforms and metrics: exact semantics on known inputs, files and schema."""

import csv
import json

import pytest
import torch
from torch import nn

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.data.augment import BatchAugment
from cnnexp.invariance.equivariance import equivariance_errors, planned_layers
from cnnexp.invariance.measures import MEASURES, grid
from cnnexp.invariance.metrics import accuracy_curve, fgsm_curve, shift_consistency, shift_stability
from cnnexp.invariance.outputs import write_outputs
from cnnexp.invariance.suite import run_suite
from cnnexp.invariance.transforms import affine, quarter_turn, rotate, scale, shift, to_canvas, warp
from cnnexp.models.lenet5 import LeNet5


def dot(row=2, col=3, size=8):
    x = torch.zeros(2, 1, size, size)
    x[:, 0, row, col] = 1.0
    return x


def test_shift_moves_content_right_and_down_and_fills_zero():
    moved = shift(dot(), dx=2, dy=1)
    assert moved[0, 0].nonzero().tolist() == [[3, 5]]
    assert shift(dot(), -3, 0)[0, 0].nonzero().tolist() == [[2, 0]]
    full = shift(torch.ones(1, 1, 6, 6), 2, -1)
    assert full[0, 0, :, :2].eq(0).all() and full[0, 0, -1:].eq(0).all() and full[0, 0, :5, 2:].eq(1).all()


def test_identities_and_counter_clockwise_rotation():
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(rotate(x, 0), x) and torch.equal(rotate(x, 360), x) and torch.equal(scale(x, 1.0), x)
    # A pixel above the centre goes to the left of it when turned 90 degrees counter-clockwise.
    assert rotate(dot(row=1, col=4, size=9), 90)[0, 0].argmax() == 4 * 9 + 1


def test_scale_enlarges_about_the_centre():
    x = torch.zeros(1, 1, 20, 20)
    x[..., 8:12, 8:12] = 1.0
    assert scale(x, 2.0).sum() > 3 * x.sum() and scale(x, 0.5).sum() < x.sum()
    assert scale(x, 2.0)[0, 0, 10, 10] == 1.0


class Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([0.0, 5.0, 0.0]))

    def forward(self, x):
        return self.bias.expand(len(x), 3)


def test_constant_classifier_is_perfectly_consistent_and_stable():
    images = torch.randint(0, 256, (50, 1, 12, 12), dtype=torch.uint8)
    model = Constant()
    assert shift_consistency(model, images, max_shift=3, seed=0)["value"] == 1.0
    labels = torch.ones(50, dtype=torch.long)
    _, probs = accuracy_curve(model, images, labels, lambda x, v: shift(x, int(v), 0), [-1, 0, 1])
    assert shift_stability(probs) == {"p_top1_change": 0.0, "mean_abs_top_prob_change": 0.0}


def test_circular_conv_is_shift_equivariant_zero_padded_is_not():
    x = torch.rand(4, 1, 16, 16)
    for mode, expect_zero in (("circular", True), ("zeros", False)):
        conv = nn.Conv2d(1, 3, 3, padding=1, padding_mode=mode)
        err = equivariance_errors(conv, {"conv": (conv, 1, False)}, x, shifts=(1, 2))["conv"]
        assert (max(err.values()) < 1e-6) == expect_zero


def test_equivariance_reports_only_whole_layer_shifts():
    net = LeNet5()
    errors = equivariance_errors(net, planned_layers(net), torch.rand(2, 1, 32, 32), shifts=(1, 2))
    assert errors["s2"]["shift_1"] is None and errors["s2"]["shift_2"] is not None
    assert errors["s4"] == {"shift_1": None, "shift_2": None}


def test_fgsm_raises_the_loss():
    torch.manual_seed(0)
    model = Classifier(Preprocess([0.5], [0.5], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    accs, losses = fgsm_curve(model, images, labels, [0.0, 0.1, 0.3])
    assert losses[0] < losses[1] < losses[2]


def test_grid_is_inclusive_and_clean():
    assert grid({"start": 0.5, "stop": 1.5, "step": 0.1}) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    assert len(grid({"start": -180, "stop": 180, "step": 15})) == 25


QUICK = {"num_images": None, "batch_size": 50, "shift_x": {"start": -2, "stop": 2, "step": 1},
         "shift_y": {"start": -2, "stop": 2, "step": 1}, "rotate": {"start": -90, "stop": 90, "step": 45},
         "scale": {"start": 0.5, "stop": 1.5, "step": 0.5}, "fgsm": [0.0, 0.1], "consistency_max_shift": 2,
         "equivariance_images": 10, "equivariance_shifts": [1, 2], "seed": 0, "shift_mode": "zero",
         "canvas": "image", "circular_shifts": [1, 4], "measures": list(MEASURES),
         "layers": {"images": 8, "shifts": [1], "rotations": [90], "scales": [1.1]}}


def test_suite_files_follow_the_schema(tmp_path):
    model = Classifier(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8)
    results = run_suite(model, images, torch.randint(0, 10, (40,)), QUICK)
    write_outputs(results, tmp_path)
    data = json.loads((tmp_path / "invariance.json").read_text())
    assert {"shift_x", "shift_y", "rotate", "scale", "fgsm", "consistency", "equivariance", "stability", "layers",
            "summary"} <= set(data)
    assert data["shift_x"]["values"] == [-2, -1, 0, 1, 2] and len(data["shift_x"]["acc"]) == 5
    assert {"inv/shift_consistency", "inv/rotate_auc", "inv/scale_worst_acc"} <= set(data["summary"])
    rows = list(csv.DictReader((tmp_path / "invariance.csv").open()))
    assert {"family", "value", "metric", "number"} == set(rows[0])
    assert any(r["family"] == "rotate" and r["value"] == "45" and r["metric"] == "acc" for r in rows)
    assert (tmp_path / "invariance.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "layers.png").is_file()
    (tmp_path / "numbers").mkdir()
    write_outputs(results, tmp_path / "numbers", figures=False)  # invariance.figures=false: the numbers alone
    assert sorted(p.name for p in (tmp_path / "numbers").iterdir()) == ["invariance.csv", "invariance.json"]
    assert (tmp_path / "numbers" / "invariance.json").read_text() == (tmp_path / "invariance.json").read_text()


class Counting(Classifier):
    """A classifier that counts the images its forward pass sees."""

    seen = 0

    def forward(self, x):
        self.seen += len(x)
        return super().forward(x)


def test_left_out_measures_are_not_computed_and_identities_reuse_the_clean_pass(tmp_path):
    torch.manual_seed(0)
    images, labels = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (40,))
    runs = {}
    for measures in (list(MEASURES), []):
        torch.manual_seed(1)
        model = Counting(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
        runs[len(measures)] = run_suite(model, images, labels, {**QUICK, "measures": measures, "fgsm": []}), model.seen
    (full, full_seen), (bare, bare_seen) = runs[len(MEASURES)], runs[0]
    assert not set(MEASURES) & set(bare)
    assert {"inv/shift_consistency", "inv/circular_consistency", "inv/quarter_turn_acc"}.isdisjoint(bare["summary"])
    for family in ("shift_x", "shift_y", "rotate", "scale"):
        assert bare[family] == full[family]
    write_outputs(bare, tmp_path)  # the files without the left-out parts
    # The clean pass, then each curve's settings but its identity (0 px, 0 degrees, scale 1): 4 + 4 + 4 + 2.
    assert bare_seen == 40 * (1 + 14)
    # Consistency: 2 draws in each of 2 modes; 2 circular shifts; 3 quarter turns.
    assert full_seen - bare_seen == 40 * (4 + 2 + 3)
    torch.manual_seed(1)
    model = Counting(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
    accs, _ = accuracy_curve(model, images, labels, rotate, [0.0])
    assert [accs[0]] == [a for v, a in zip(full["rotate"]["values"], full["rotate"]["acc"]) if v == 0]


@pytest.mark.parametrize("shift_x", [{"start": -2, "stop": 2, "step": 2}, {"start": 3, "stop": 3, "step": 1}])
def test_stability_is_measured_between_1px_neighbours_only(shift_x):
    """P(top-1 change) between 1-px neighbours: not from a coarser grid, nor from a single shift (no neighbours)."""
    model = Classifier(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8)
    results = run_suite(model, images, torch.randint(0, 10, (20,)), {**QUICK, "shift_x": shift_x})
    assert "stability" not in results and "inv/p_top1_change_1px" not in results["summary"]
    assert results["shift_x"]["values"] == grid(shift_x)


def test_augmentation_is_seeded_by_step_and_off_by_default():
    x = torch.rand(16, 1, 28, 28)
    assert BatchAugment()(x, step=3) is x
    aug = BatchAugment(max_shift=2, max_degrees=10, scale_range=(0.9, 1.1), seed=1)
    assert torch.equal(aug(x, 5), aug(x, 5)) and not torch.equal(aug(x, 5), aug(x, 6))
    assert aug(x, 5).shape == x.shape


def test_shift_augmentation_uses_whole_pixel_moves_per_image():
    x = dot(row=5, col=5, size=12)[:1].expand(64, 1, 12, 12).contiguous()
    out = BatchAugment(max_shift=1, seed=0)(x, 0)
    assert torch.equal(out.flatten(1).sum(1), torch.ones(64))  # every dot survives, exactly one pixel
    # Each image draws its own move: all nine of the 3x3 neighbourhood occur in one batch.
    assert len({tuple(i.nonzero()[0].tolist()) for i in out[:, 0]}) == 9


@pytest.mark.parametrize("h,w", [(28, 28), (20, 32)])
def test_warp_gives_each_image_the_evaluation_affine_of_its_own_setting(h, w):
    torch.manual_seed(0)
    x = torch.zeros(6, 1, h, w)
    x[..., 6:-6, 6:-6] = torch.rand(6, 1, h - 12, w - 12)  # background border, as in MNIST
    dx, dy = torch.tensor([0, 1, -2, 3, 0, 2]), torch.tensor([0, -1, 2, 0, 3, 1])
    degrees, factor = torch.tensor([0.0, 10, -20, 45, 90, -7]), torch.tensor([1.0, 1.1, 0.9, 1.2, 0.8, 1.0])
    out = warp(x, dx, dy, degrees, factor)
    for i in range(6):
        expected = affine(x[i:i + 1], int(dx[i]), int(dy[i]), float(degrees[i]), float(factor[i]))
        torch.testing.assert_close(out[i:i + 1], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("dx,dy", [(3, -2), (-8, 8), (0, 5), (27, 0)])
def test_fast_shift_equals_torchvision_affine(dx, dy):
    from cnnexp.invariance.transforms import affine

    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(shift(x, dx, dy), affine(x, dx, dy))


def test_circular_shift_wraps_around_and_the_canvas_is_the_padded_input():
    x = dot(row=2, col=7)
    assert shift(x, 1, 0, "circular")[0, 0, 2, 0] == 1.0 and shift(x, 1, 0)[0, 0].sum() == 0
    assert to_canvas(x, 12).shape[-1] == 12 and to_canvas(x, 12)[0, 0, 4, 9] == 1.0
    assert torch.equal(quarter_turn(dot(0, 7), 1)[0, 0], dot(0, 0)[0, 0])  # top right -> top left: ccw


def aps_classifier() -> Classifier:
    torch.manual_seed(0)
    net = LeNet5(padding=2, padding_mode="circular", pooling="aps", head="gap")
    return Classifier(Preprocess([0.13], [0.31], size=32), net).eval()


def test_suite_measures_the_aps_guarantee_on_the_input_canvas(tmp_path):
    images = torch.randint(0, 256, (60, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (60,))
    cfg = QUICK | {"shift_mode": "circular", "canvas": "input", "circular_shifts": [1, 3, 4],
                   "rotate": None, "scale": None, "fgsm": []}
    results = run_suite(aps_classifier(), images, labels, cfg)
    assert results["consistency"]["value"] == 1.0 and results["circular_consistency"]["value"] == 1.0
    assert results["circular_shifts"]["agreement"] == [1.0, 1.0, 1.0]
    assert max(results["circular_shifts"]["max_logit_change"]) < 1e-5
    assert results["shift_x"]["agreement"] == [1.0] * 5
    n = results["consistency"]["n_correct"] + results["consistency"]["n_incorrect"]
    assert n == 60 and results["protocol"]["canvas_px"] == 32 and results["protocol"]["shift_mode"] == "circular"
    # APS shifts its output by a whole number it chose: the lattice-aware error is ~0 at every layer.
    for layer, errors in results["equivariance"].items():
        assert all(e is not None and e < 1e-5 for e in errors.values()), layer
    assert "rotate" not in results and "fgsm" not in results and "inv/rotate_auc" not in results["summary"]
    write_outputs(results, tmp_path)  # absent families leave no hole in the files
    assert (tmp_path / "invariance.png").is_file()


def test_plain_lenet5_changes_under_circular_shifts_and_consistency_is_split_by_correctness():
    torch.manual_seed(0)
    model = Classifier(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (80, 1, 28, 28), dtype=torch.uint8)
    results = run_suite(model, images, torch.randint(0, 10, (80,)), QUICK)
    assert results["circular_shifts"]["max_logit_change"][0] > 1e-4
    assert set(results["consistency"]) >= {"value", "correct", "incorrect", "n_correct", "n_incorrect"}


def test_quarter_turns_of_a_p4_net_agree_exactly():
    from cnnexp.models.lenet5_p4 import LeNet5P4

    torch.manual_seed(0)
    model = Classifier(Preprocess([0.13], [0.31], size=32), LeNet5P4()).eval()
    images = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (40,))
    turns = run_suite(model, images, labels, QUICK)["quarter_turns"]
    assert turns["agreement"] == [1.0, 1.0, 1.0] and max(turns["max_logit_change"]) < 1e-5
    assert set(turns["confusion_6_9"]["clean"]) == {"6->9", "9->6"}


def test_every_suite_entry_names_a_function_that_runs_it():
    """The table (torch-free) names each entry's function by a dotted path: each resolves, in runs.py."""
    from hydra.utils import get_method

    from cnnexp.invariance import runs
    from cnnexp.invariance.measures import SUITE

    assert len({m.key for m in SUITE}) == len(SUITE)
    assert all(get_method(m.run).__module__ == runs.__name__ for m in SUITE)
