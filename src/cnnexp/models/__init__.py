"""Networks of the lecture (LeNet-5, the 1998 LeNet-5, an MLP, a configurable CNN).

Nothing here imports torch at package import: `shapes` must stay usable by config
validation before the heavy libraries load.
"""

from __future__ import annotations

from typing import Any


def build_net(model_cfg: Any):
    """Instantiate the network described by a `conf/model/*.yaml` node.

    `name` is the config's display name, not a constructor argument.
    """
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    node = OmegaConf.to_container(model_cfg, resolve=True) if OmegaConf.is_config(model_cfg) else dict(model_cfg)
    node.pop("name", None)
    return instantiate(node, _convert_="all")
