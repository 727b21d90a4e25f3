"""Every model's stages, parameter counts and layer options."""

import pytest
import torch
from torch import nn

from cnnexp.models.cnn import CNN
from cnnexp.models.lenet5 import LeNet5
from cnnexp.models.lenet5_1998 import C3_TABLE, LeNet5_1998, ScaledTanh
from cnnexp.models.mlp import MLP
from cnnexp.models.summary import layer_rows, markdown_table


def trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def stage_shapes(net: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, tuple]:
    shapes = {}
    for name in names:
        net.get_submodule(name).register_forward_hook(lambda _m, _i, o, n=name: shapes.update({n: tuple(o.shape[1:])}))
    net(x)
    return shapes


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_lenet5_is_the_lectures_network(activation):
    net = LeNet5(activation=activation)
    shapes = stage_shapes(net, torch.rand(3, 1, 32, 32), ["c1", "s2", "c3", "s4", "c5", "f6", "output"])
    assert shapes == {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5),
                      "c5": (120, 1, 1), "f6": (84,), "output": (10,)}
    assert trainable(net) == 61_706


def test_lenet5_activation_choice_is_used():
    assert isinstance(LeNet5(activation="tanh").act, nn.Tanh)
    assert isinstance(LeNet5().act, nn.ReLU)


def test_lenet5_1998_has_60000_parameters_in_the_papers_breakdown():
    net = LeNet5_1998()
    per_layer = {name: trainable(net.get_submodule(name)) for name in ["c1", "s2", "c3", "s4", "c5", "f6"]}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}
    assert trainable(net) == 60_000
    assert not any(p.requires_grad for p in net.output.parameters())  # RBF centres are fixed buffers
    assert net(torch.rand(2, 1, 32, 32)).shape == (2, 10)


def test_lenet5_1998_c3_reads_only_its_connection_table():
    net = LeNet5_1998()
    dense = net.c3.dense_weight()
    for k, inputs in enumerate(C3_TABLE):
        connected = dense[k].abs().sum(dim=(1, 2)) > 0
        assert connected.nonzero().flatten().tolist() == sorted(inputs)
    # Gradient flows to C3 map 0 only from S2 maps 0, 1, 2.
    x = torch.rand(1, 6, 14, 14, requires_grad=True)
    net.c3(x)[0, 0].sum().backward()
    assert (x.grad[0].abs().sum(dim=(1, 2)) > 0).tolist() == [True, True, True, False, False, False]


def test_lenet5_1998_rbf_prototypes_are_plus_minus_one_digit_bitmaps():
    protos = LeNet5_1998().output.prototypes
    assert protos.shape == (10, 84) and set(protos.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(p.tolist()) for p in protos}) == 10  # ten different digits


def test_scaled_tanh_maps_one_to_one():
    f = ScaledTanh()
    assert f(torch.tensor([1.0, -1.0])).tolist() == pytest.approx([1.0, -1.0], abs=1e-3)


def test_mlp_784_300_10():
    net = MLP(hidden=[300])
    assert trainable(net) == 784 * 300 + 300 + 300 * 10 + 10
    assert net(torch.rand(4, 1, 28, 28)).shape == (4, 10)


def test_mlp_layers_are_named_and_load_checkpoints_of_the_unnamed_layers():
    net = MLP(hidden=[300, 100])
    assert [r.name for r in layer_rows(net, (1, 28, 28))] == ["fc1", "fc2", "output"]
    # Keys as a checkpoint written before the names had them: layers.<index in flatten, fc, act, ...>.
    old = {f"layers.{i}.{p}": v.clone() for i, (p, v) in zip((1, 1, 3, 3, 5, 5), net.state_dict().items())
           for p in [p.rsplit(".", 1)[1]]}
    again = MLP(hidden=[300, 100])
    again.load_state_dict(old)
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(again(x), net(x))


def test_cnn_blocks_follow_the_channels_list():
    net = CNN(in_channels=3, input_size=32, channels=[8, 16, 32], hidden=64)
    shapes = stage_shapes(net, torch.rand(2, 3, 32, 32), ["features.conv1", "features.pool3"])
    assert shapes == {"features.conv1": (8, 32, 32), "features.pool3": (32, 4, 4)}
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("pooling,extra_params", [("max", 0), ("avg", 0), ("lp", 0), ("blur", 0),
                                                  ("none", 6 * 6 * 4 + 6 + 16 * 16 * 4 + 16)])
def test_pooling_variants_keep_lenet5_shapes(pooling, extra_params):
    net = LeNet5(pooling=pooling)
    shapes = stage_shapes(net, torch.rand(2, 1, 32, 32), ["s2", "s4"])
    assert shapes == {"s2": (6, 14, 14), "s4": (16, 5, 5)}
    assert trainable(net) == 61_706 + extra_params


def test_blur_pool_is_less_shift_sensitive_than_max_pool():
    # Zhang (2019): a 1-px shift of a high-frequency pattern flips strided max pooling, not blur pooling.
    x = torch.zeros(1, 1, 16, 16)
    x[..., 2::4] = x[..., 3::4] = 1.0  # stripes 2 px wide, period 4 (Zhang 2019, Fig. 2)
    shifted = torch.roll(x, 1, dims=-1)
    max_pool, blur_pool = LeNet5(pooling="max").s2, LeNet5(pooling="blur").s2
    change = lambda pool: (pool(x.expand(1, 6, 16, 16)) - pool(shifted.expand(1, 6, 16, 16))).abs().mean()
    assert change(blur_pool) < change(max_pool)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
def test_padding_modes_keep_same_size_convolutions(mode):
    net = LeNet5(kernel_size=5, padding=2, padding_mode=mode)
    assert net.c1.padding_mode == mode
    assert stage_shapes(net, torch.rand(1, 1, 32, 32), ["c1"]) == {"c1": (6, 32, 32)}


def test_layer_table_lists_shapes_params_and_receptive_fields():
    rows = {r.name: r for r in layer_rows(LeNet5(), (1, 32, 32))}
    assert rows["c3"].output_shape == (16, 10, 10) and rows["c3"].params == 2_416
    assert rows["c5"].receptive_field == "32x32" and rows["f6"].receptive_field == "whole input"
    assert sum(r.params for r in rows.values()) == 61_706
    assert "| c1 | conv | 6x28x28 | 156 | 5x5 |" in markdown_table(list(rows.values()))


@pytest.mark.parametrize("name,params", [("lenet5", 61_706), ("lenet5_1998", 60_000), ("mlp", 238_510),
                                         ("cnn", None)])
def test_each_model_config_builds_its_network_with_instantiate(name, params):
    """conf/model/<name>.yaml is the network's constructor call as it is, and its spec knows it."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from cnnexp.config import compose
    from cnnexp.models.specs import SPECS

    cfg = compose("train", [f"model={name}", "paths.output_dir=x"])
    net = instantiate(OmegaConf.to_container(cfg.model, resolve=True), _convert_="all")
    assert cfg.model._target_ in SPECS and cfg.run_name == name
    assert net(torch.rand(2, 1, cfg.model.input_size, cfg.model.input_size)).shape == (2, 10)
    if params is not None:
        assert trainable(net) == params


class TinyNet(nn.Module):
    """A network cnnexp has no spec for: the one module a user adds (its config is the override below)."""

    def __init__(self, in_channels: int, input_size: int, num_classes: int, hidden: list[int], activation: str):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size**2, hidden[0]), nn.ReLU(),
                                    nn.Linear(hidden[0], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@pytest.mark.slow
def test_a_model_without_a_spec_trains_and_a_bad_one_is_one_line(train_cfg):
    from cnnexp.errors import ConfigError
    from cnnexp.training.run import train

    cfg = train_cfg("model=mlp", f"model._target_={__name__}.TinyNet", "model.hidden=[16]")
    metrics = train(cfg)
    assert cfg.run_name == "tinynet" and metrics["params/trainable"] == 784 * 16 + 16 + 16 * 10 + 10
    with pytest.raises(ConfigError, match=r"^model: .*TinyNet.*unexpected keyword argument 'width'"):
        train(train_cfg("model=mlp", f"model._target_={__name__}.TinyNet", "+model.width=3"))
