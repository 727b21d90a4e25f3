"""The views of a tested model in TensorBoard (filters, feature maps, layer table), on untrained networks."""

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from cnnexp.classifier import build_classifier
from cnnexp.training.tensorboard import log_model
from tests.conftest import compose_train


@pytest.mark.parametrize(("overrides", "maps"), [(["model.pooling=max"], {"c1", "c3"}),
                                                 (["model.pooling=none"], {"c1", "c3"}),
                                                 (["model=cnn", "model.pooling=none"], {"conv1", "conv2"})])
def test_feature_maps_are_named_by_the_feature_layers(tmp_path, overrides, maps):
    """Without pooling, S2 is a stride-2 conv: the maps are still C1's and C3's, not C1's and S2's."""
    config = OmegaConf.to_container(compose_train(tmp_path, tmp_path, *overrides), resolve=True)
    with SummaryWriter(str(tmp_path / "tb")) as writer:
        log_model(writer, build_classifier(config), torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), 0)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert {t.split("/", 1)[1] for t in acc.Tags()["images"] if t.startswith("feature_maps/")} == maps
