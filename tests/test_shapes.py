"""Output-size and receptive-field arithmetic against real PyTorch layers."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.specs import ShapeError, conv_out, lenet5_plan


@settings(max_examples=150, deadline=None)
@given(w=st.integers(1, 40), k=st.integers(1, 9), p=st.integers(0, 4), s=st.integers(1, 5), d=st.integers(1, 3))
def test_conv_out_matches_conv2d(w, k, p, s, d):
    if d * (k - 1) + 1 > w + 2 * p:
        assert conv_out(w, k, p, s, d) < 1
        return
    layer = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert layer(torch.zeros(1, 1, w, w)).shape[-1] == conv_out(w, k, p, s, d)


@settings(max_examples=100, deadline=None)
@given(w=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 4))
def test_conv_out_matches_pooling_layers(w, k, s):
    if k > w:
        return
    x = torch.rand(1, 1, w, w)
    for layer in (nn.MaxPool2d(k, s), nn.AvgPool2d(k, s), nn.LPPool2d(2, k, s)):
        assert layer(x).shape[-1] == conv_out(w, k, 0, s)


def test_lecture_example_28_input_5x5_kernel_gives_24():
    assert conv_out(28, 5, 0, 1) == 24


def test_lenet5_plan_gives_lecture_sizes_and_receptive_fields():
    plan = lenet5_plan()
    assert [(s.name, s.channels, s.out_size) for s in plan] == [
        ("c1", 6, 28), ("s2", 6, 14), ("c3", 16, 10), ("s4", 16, 5), ("c5", 120, 1)]
    # rf_l = rf_{l-1} + (k_l - 1) * jump_{l-1}: 5, 6, 14, 16, 32 (C5 sees the whole 32x32 input).
    assert [s.rf for s in plan] == [5, 6, 14, 16, 32]


def test_impossible_combination_names_layer_and_formula():
    with pytest.raises(ShapeError) as err:
        lenet5_plan(input_size=32, kernel_size=9, stride=2)
    message = str(err.value)
    assert "layer c3" in message and "O = floor(" in message


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 7), p=st.integers(0, 3), s=st.integers(1, 2),
       pooling=st.sampled_from(["max", "avg", "lp", "blur", "none"]))
def test_c5_always_gives_120_by_1x1(k, p, s, pooling):
    try:
        lenet5_plan(1, 32, k, s, p, pooling)
    except ShapeError:
        return
    net = LeNet5(kernel_size=k, stride=s, padding=p, pooling=pooling)
    out = {}
    net.c5.register_forward_hook(lambda _m, _i, o: out.update(c5=o.shape[1:]))
    assert net(torch.rand(2, 1, 32, 32)).shape == (2, 10)
    assert tuple(out["c5"]) == (120, 1, 1)
