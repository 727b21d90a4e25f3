"""CIFAR-10's files: torchvision's download where the network allows it, else files placed by hand,
each checked against the md5 torchvision lists for it. No package registry ships CIFAR-10."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from torchvision.datasets import CIFAR10

from cnnexp.data.datasets import SOURCES
from cnnexp.data.verified import OfficialFiles, Route

FILES = OfficialFiles(SOURCES["cifar10"].title, CIFAR10.base_folder,
                      {name: md5 for name, md5 in (*CIFAR10.train_list, *CIFAR10.test_list)}
                      | {CIFAR10.meta["filename"]: CIFAR10.meta["md5"]})


def torchvision_route(data_dir: Path) -> None:
    # torchvision prints its progress; the caller reports the outcome instead.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        CIFAR10(str(data_dir), train=True, download=True)


ROUTES: tuple[tuple[str, Route], ...] = (("torchvision download", torchvision_route),)
