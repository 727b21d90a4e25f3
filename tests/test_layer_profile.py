"""The layer profile: exact where the math says so, and the numbers of a hand computation."""

import pytest
import torch
import torch.nn.functional as F

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.invariance.profile import layer_profile, profiled_layers
from cnnexp.invariance.transforms import shift, to_canvas
from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.lenet5_p4 import LeNet5P4

GRID = {"images": 16, "shifts": [1, 2, 3, 4], "rotations": [15, 90], "scales": [1.1]}
EXACT = 1e-6


def images(n: int = 16) -> torch.Tensor:
    """Digit-like images: strokes inside a background frame (28x28, uint8)."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    x[:, :, 6:22, 6:22] = torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    return x


def profile_of(net, grid=GRID) -> dict:
    torch.manual_seed(0)
    model = Classifier(Preprocess([0.13], [0.31], size=32), net).eval()
    return layer_profile(model, images(), grid)


def at(profile: dict, kind: str, transform: str) -> dict:
    return dict(zip(profile["layers"], profile[kind][transform]))


def test_a_circular_convolution_moves_exactly_with_a_circular_shift():
    """Circular padding, stride 1: the first convolution is equivariant to every circular shift, and the first
    pooling (stride 2) to those on its lattice; neither is invariant."""
    profile = profile_of(LeNet5(padding=2, padding_mode="circular"))
    assert profile["layers"] == ["c1", "s2.in", "s2", "c3", "s4.in", "s4", "c5", "f6", "output"]
    for d in GRID["shifts"]:
        equi, inv = at(profile, "equivariance", f"shift {d} px circular"), at(profile, "invariance",
                                                                            f"shift {d} px circular")
        assert equi["c1"] <= EXACT and inv["c1"] > 0.1
        assert (equi["s2"] <= EXACT) == (d % 2 == 0)


def test_aps_moves_exactly_from_its_first_stage_and_the_gap_head_is_invariant():
    profile = profile_of(LeNet5(padding=2, padding_mode="circular", pooling="aps", head="gap"))
    for d in GRID["shifts"]:
        equi = at(profile, "equivariance", f"shift {d} px circular")
        inv = at(profile, "invariance", f"shift {d} px circular")
        assert all(equi[layer] <= EXACT for layer in ("s2", "c3", "s4", "c5")), equi
        assert all(inv[layer] <= EXACT for layer in ("head", "f6", "output")), inv
        assert inv["s2"] > 0.01  # before global pooling the map moves: equivariant, not invariant


def test_p4_planes_permute_exactly_under_a_quarter_turn_and_the_rotation_pool_is_invariant():
    profile = profile_of(LeNet5P4(channels=(3, 8, 66)))
    equi, inv = at(profile, "equivariance", "rotate 90 deg"), at(profile, "invariance", "rotate 90 deg")
    assert all(equi[layer] <= 1e-5 for layer in ("c1", "s2", "c3", "s4", "c5")), equi
    assert inv["c1"] > 0.1 and inv["f6"] <= 1e-5 and inv["output"] <= 1e-5
    assert at(profile, "equivariance", "rotate 15 deg")["c1"] is None  # no exact move at 15 degrees


def test_the_profile_is_the_hand_computed_distance():
    """c1 of an untrained LeNet-5, by hand: the canvas moved 1 px (zero fill), normalized, convolved; the
    distance to the unmoved map (invariance) and to that map rolled 1 px (equivariance), per image, averaged."""
    net = LeNet5()
    profile = profile_of(net)
    pre = Preprocess([0.13], [0.31], size=32)
    canvas = to_canvas(images().float() / 255, 32)
    with torch.no_grad():
        f = F.conv2d(pre(canvas), net.c1.weight, net.c1.bias)
        f_moved = F.conv2d(pre(shift(canvas, 1, 0)), net.c1.weight, net.c1.bias)
    norm = f.flatten(1).norm(dim=1)
    invariance = ((f_moved - f).flatten(1).norm(dim=1) / norm).mean().item()
    equivariance = ((f_moved - torch.roll(f, 1, dims=-1)).flatten(1).norm(dim=1) / norm).mean().item()
    assert at(profile, "invariance", "shift 1 px zero")["c1"] == pytest.approx(invariance, rel=1e-5)
    assert at(profile, "equivariance", "shift 1 px zero")["c1"] == pytest.approx(equivariance, rel=1e-5)
    assert profiled_layers(net) == {"c1": 1, "s2.in": 1, "s2": 2, "c3": 2, "s4.in": 2, "s4": 4, "c5": 4, "f6": None,
                                    "output": None}


def test_the_suite_writes_the_profile(tmp_path):
    """measures=[layers]: invariance.json's profile, a metric per layer, layers.png."""
    from omegaconf import OmegaConf

    from cnnexp.config import compose
    from cnnexp.invariance.outputs import write_outputs
    from cnnexp.invariance.suite import run_suite

    cfg = OmegaConf.to_container(compose("train", [
        "invariance.measures=[layers]", "invariance.shift_x=null", "invariance.shift_y=null", "invariance.rotate=null",
        "invariance.scale=null", "invariance.fgsm=[]", "invariance.layers.images=8"]).invariance, resolve=True)
    model = Classifier(Preprocess([0.13], [0.31], size=32), LeNet5()).eval()
    results = run_suite(model, images(), torch.zeros(16, dtype=torch.long), cfg)
    assert results["layers"]["images"] == 8 and len(results["layers"]["transforms"]) == 4 * 2 + 3 + 2
    assert {f"inv/layer/{n}/shift1_invariance" for n in ("c1", "f6", "output")} <= set(results["summary"])
    assert "inv/layer/f6/shift1_equivariance" not in results["summary"]  # no map: no move to compare with
    write_outputs(results, tmp_path)
    assert (tmp_path / "layers.png").stat().st_size > 10_000


@pytest.mark.parametrize("model", ["lenet5", "lenet5_1998", "mlp", "cnn", "lenet5_aps", "lenet5_p4"])
def test_the_profile_reads_every_shipped_model(model, train_cfg):
    """Every named layer of every shipped network, from its first layer to its logits, on a few images."""
    from omegaconf import OmegaConf

    from cnnexp.classifier import build_classifier

    config = OmegaConf.to_container(train_cfg(f"model={model}"), resolve=True)
    torch.manual_seed(0)
    profile = layer_profile(build_classifier(config).eval(), images(), GRID)
    assert len(profile["layers"]) >= 2 and profile["layers"][-1] in ("output", "head.3")  # cnn: head.3 (its logits)
    assert all(v is not None and v == v for values in profile["invariance"].values() for v in values)
