"""Invariance by construction, at random initialisation: APS LeNet-5 under every circular shift,
its control arm (plain pooling) only on the stride lattice, the p4 LeNet-5 under quarter turns."""

import pytest
import torch

from cnnexp.config import compose
from cnnexp.models.layers import APSPool
from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.lenet5_p4 import LeNet5P4
from cnnexp.models.specs import ShapeError, lenet5_plan
from tests.test_bad_inputs import assert_refused


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def built(model: str, *overrides: str) -> torch.nn.Module:
    """The network `model=<model>` builds, through the real config."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = compose("train", [f"model={model}", *overrides])
    return instantiate(OmegaConf.to_container(cfg.model, resolve=True), _convert_="all").eval()


@pytest.fixture
def x() -> torch.Tensor:
    # Non-degenerate inputs: a blank image ties every polyphase component.
    return torch.randn(8, 1, 32, 32, generator=torch.Generator().manual_seed(0))


def test_presets_have_the_lectures_parameter_budget():
    assert trainable(built("lenet5_aps")) == 61_706  # exactly LeNet-5's
    assert trainable(built("lenet5_p4")) == 61_830
    assert trainable(built("lenet5_p4", "model.rotation_pool=none")) == 78_462  # F6 reads 4 x 66 features


@pytest.mark.parametrize("seed", [0, 1])
def test_lenet5_aps_is_exactly_invariant_to_every_circular_shift(x, seed):
    torch.manual_seed(seed)
    net = built("lenet5_aps")
    with torch.no_grad():
        ref = net(x)
        for shift in [(1, 0), (0, 1), (1, 1), (3, -5), (-7, 2), (13, 31)]:
            assert torch.allclose(net(torch.roll(x, shift, dims=(-2, -1))), ref, atol=1e-6, rtol=0), shift


def test_aps_with_blur_is_exact_too(x):
    net = built("lenet5_aps", "model.pooling=aps_blur")
    with torch.no_grad():
        assert torch.allclose(net(torch.roll(x, (5, -3), dims=(-2, -1))), net(x), atol=1e-6, rtol=0)


def test_control_arm_is_exact_only_on_the_stride_lattice(x):
    torch.manual_seed(0)
    net = built("lenet5_aps", "model.pooling=max")  # circular same convs + GAP, plain stride-2 pooling
    with torch.no_grad():
        ref = net(x)
        for s in (4, 8, -12):
            assert torch.allclose(net(torch.roll(x, s, dims=-1)), ref, atol=1e-6, rtol=0), s
        for s in (1, 2, 3, 5):
            assert (net(torch.roll(x, s, dims=-1)) - ref).abs().max() > 1e-4, s


@pytest.mark.slow
def test_compiled_evaluation_keeps_aps_exact(x):
    # The claims evaluate APS through inductor's graph (the remedy test trains with eager evaluation), which
    # fuses the polyphase energies and their argmax: it must give the eager logits and keep the choice exact.
    # (p4's rotation pooling is a max, exact in any order; a cold compile costs ~20 s a model.)
    from cnnexp.compiled import for_inference

    torch.manual_seed(0)
    net = built("lenet5_aps")
    fast = for_inference(net, passes=0, mode=True)
    with torch.inference_mode():
        ref = fast(x)
        assert fast is not net and torch.allclose(ref, net(x), atol=1e-5, rtol=0)
        for shift in [(1, 0), (3, -5), (13, 31)]:
            assert torch.allclose(fast(torch.roll(x, shift, dims=(-2, -1))), ref, atol=1e-6, rtol=0), shift


def test_plain_lenet5_is_not_shift_invariant(x):
    torch.manual_seed(0)
    net = LeNet5().eval()
    with torch.no_grad():
        assert (net(torch.roll(x, 4, dims=-1)) - net(x)).abs().max() > 1e-4


@pytest.mark.parametrize("rotation_pool", ["max", "mean"])
def test_lenet5_p4_is_exactly_invariant_to_quarter_turns(x, rotation_pool):
    torch.manual_seed(0)
    net = built("lenet5_p4", f"model.rotation_pool={rotation_pool}")
    with torch.no_grad():
        ref = net(x)
        for k in (1, 2, 3):
            assert torch.allclose(net(torch.rot90(x, k, dims=(-2, -1))), ref, atol=2e-6, rtol=0), k


def test_lenet5_p4_features_are_equivariant_and_the_unpooled_head_is_not_invariant(x):
    torch.manual_seed(0)
    net = LeNet5P4(rotation_pool="none").eval()
    feats = {}
    net.c3.register_forward_hook(lambda _m, _i, out: feats.setdefault(len(feats), out))
    with torch.no_grad():
        ref = net(x)
        turned = net(torch.rot90(x, 1, dims=(-2, -1)))
    # A quarter turn of the input turns every plane and moves plane r to r + 1.
    expected = torch.rot90(torch.roll(feats[0], 1, dims=2), 1, dims=(-2, -1))
    assert torch.allclose(feats[1], expected, atol=1e-5, rtol=0)
    assert (turned - ref).abs().max() > 1e-3


def test_aps_keeps_the_largest_polyphase_component():
    x = torch.zeros(2, 1, 4, 4)
    x[0, 0, 1, 3] = 5.0  # component (1, 1) of image 0
    x[1, 0, 2, 0] = 3.0  # component (0, 0) of image 1
    out = APSPool(1, size=1, stride=2)(x)  # size 1: no dense max, the selection alone
    assert out[0, 0, 0, 1] == 5.0 and out[1, 0, 1, 0] == 3.0 and out.abs().sum() == 8.0


def test_centre_symmetry_is_what_the_p4_check_demands(x):
    # The grid the checker refuses really breaks the invariance, and the one it accepts keeps it.
    torch.manual_seed(0)
    bad = LeNet5P4(kernel_size=3, stride=2, padding=1).eval()
    with torch.no_grad():
        assert (bad(torch.rot90(x, 1, dims=(-2, -1))) - bad(x)).abs().max() > 1e-3
    with pytest.raises(ShapeError, match=r"\(32 \+ 2\*1 - 3\) mod 2 = 1"):
        from cnnexp.models.specs import check_centre_symmetric

        check_centre_symmetric(lenet5_plan(1, 32, 3, 2, 1, "max", 2, channels=(3, 8, 66)))


REFUSED = [
    ("model=lenet5 model.pooling=aps", "model.pooling=aps needs circular 'same' convolutions, even map sizes and "
                                       "a GAP head: set model.padding_mode=circular (it is zeros)"),
    ("model=lenet5_aps model.head=flatten", "set model.head=gap (it is flatten)"),
    ("model=lenet5_aps model.padding=1", "kernel 5, stride 1, padding 1 change the map size"),
    ("model=lenet5_aps model.input_size=30", "layer s4 gets 15x15, 15 mod 2 = 1"),
    ("model=lenet5_p4 model.kernel_size=3 model.stride=2 model.padding=1",
     "layer c1 (kernel 3, stride 2, padding 1) on 32x32 leaves (32 + 2*1 - 3) mod 2 = 1 pixels unsampled"),
    ("model=lenet5_p4 model.pooling=aps", "model.pooling='aps': must be one of max, avg, lp, blur"),
    ("model=lenet5_p4 model.channels=[3,8]", "model.channels=[3, 8]: must list exactly 3 integers"),
    ("model=lenet5_p4 model.rotation_pool=sum", "model.rotation_pool='sum': must be one of max, mean, none"),
    ("model=cnn model.head=attention", "model.head='attention': must be one of flatten, gap"),
]


@pytest.mark.parametrize("overrides,fragment", REFUSED, ids=[o for o, _ in REFUSED])
def test_shape_checker_refusals_through_the_command(tmp_path, overrides, fragment, cli):
    assert_refused(cli("cnnexp.cli.train", overrides.split(), tmp_path), "cnnexp-train", fragment, tmp_path)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_dense_max_is_stride_1_max_pooling(size):
    from torch.nn.functional import max_pool2d, pad

    from cnnexp.models.layers import dense_max

    x = torch.randn(2, 3, 11, 11)
    wrapped = pad(x, (0, size - 1, 0, size - 1), mode="circular")
    for circular, padded in ((False, x), (True, wrapped)):
        reference = max_pool2d(padded, size, 1)
        assert torch.equal(dense_max(x, size, circular), reference)  # without gradients: the running maximum
        # Under autograd (training): the same values, and max pooling's gradient.
        leaf, ref_leaf = x.clone().requires_grad_(), x.clone().requires_grad_()
        out = dense_max(leaf, size, circular)
        assert torch.equal(out, reference)
        weights = torch.randn_like(out)
        (out * weights).sum().backward()
        ref_in = pad(ref_leaf, (0, size - 1, 0, size - 1), mode="circular") if circular else ref_leaf
        (max_pool2d(ref_in, size, 1) * weights).sum().backward()
        assert torch.allclose(leaf.grad, ref_leaf.grad, atol=1e-6)


def test_channels_last_stores_4d_weights_nhwc_keeps_p4_and_predicts_the_same(x):
    from cnnexp.classifier import use_memory_format

    torch.manual_seed(0)
    net = LeNet5().eval()
    ref = net(x)
    use_memory_format(net, "channels_last")
    # The 1-input-channel C1 weight too: .contiguous() would leave its NCHW strides (and its speed).
    assert net.c1.weight.stride() == (25, 1, 5, 1) and net.c3.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(net(x), ref, atol=1e-5, rtol=0)
    use_memory_format(net, "contiguous")  # and back: the NCHW copy compiled evaluation runs on
    assert net.c1.weight.stride() == (25, 25, 5, 1) and net.c3.weight.is_contiguous()
    p4 = use_memory_format(LeNet5P4().eval(), "channels_last")  # 5-D weights: left as they are, still runs
    assert p4.c3.weight.dim() == 5 and p4(x).shape == (8, 10)
