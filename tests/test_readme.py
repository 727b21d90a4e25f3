"""The README's "Extending cnnexp" recipes work as written."""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def recipe_code(title: str) -> str:
    """The first python block after the README's bold `title`."""
    after = README[README.index(f"**{title}**"):]
    return re.search(r"```python\n(.*?)```", after, re.S)[1]


def test_the_claim_recipe_registers_a_claim_whose_rule_can_fail(tmp_path):
    check = f"""
{recipe_code("A claim.")}
from pathlib import Path
from cnnexp.claims.families import all_claims
from cnnexp.claims.registry import Context
from cnnexp.claims.verdict import HOLDS, REFUTED, overall
new = all_claims()["C99"]
assert new.check(Context(out_dir=Path({str(tmp_path)!r}), seed=0)).verdict == HOLDS
assert overall(new.judge({{"weights": 24}})) == REFUTED
"""
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def blocks(title: str, language: str) -> list[str]:
    """The `language` code blocks of the README's bold `title`, up to the next bold title."""
    after = README[README.index(f"**{title}**") + len(title) + 4:]
    section = after[: after.index("\n**")] if "\n**" in after else after
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def inline(title: str, start: str) -> str:
    """The README's inline code of `title`'s section that begins with `start`."""
    after = README[README.index(f"**{title}**"):]
    return re.search(rf"`({re.escape(start)}[^`]*)`", after)[1]


def idx(array: np.ndarray) -> bytes:
    """An IDX file (LeCun's format: magic, dimensions, then unsigned bytes)."""
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.mark.slow
def test_the_model_dataset_and_family_recipes_train_together(tmp_path):
    """The README's model, dataset and invariance family, applied to a copy of the package exactly as written
    (the dataset's md5s are those of files generated here), then one training of the new model on the new
    dataset whose suite measures the new family."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "cnnexp", src / "cnnexp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "conf", src / "cnnexp" / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    conf = src / "cnnexp" / "conf"

    (model_py,), (model_yaml,) = blocks("A model.", "python"), blocks("A model.", "yaml")
    (src / "cnnexp" / "models" / "tiny.py").write_text(model_py)
    (conf / "model" / "tiny.yaml").write_text(model_yaml)

    rng = np.random.default_rng(0)
    raw = tmp_path / "data" / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    md5s = {}
    for split, n in (("train", 60_000), ("t10k", 10_000)):
        for kind, array in (("images", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                            ("labels", np.arange(n, dtype=np.uint8) % 10)):
            name = f"{split}-{kind}-idx{array.ndim}-ubyte"
            (raw / name).write_bytes(idx(array))
            md5s[name] = hashlib.md5((raw / name).read_bytes()).hexdigest()
    (dataset_py,), (dataset_yaml,) = blocks("A dataset", "python"), blocks("A dataset", "yaml")
    for name, md5 in md5s.items():
        dataset_py = dataset_py.replace(f'"{name}": "<md5>"', f'"{name}": "{md5}"')
    (src / "cnnexp" / "data" / "kmnist.py").write_text(dataset_py)
    (conf / "data" / "kmnist.yaml").write_text(dataset_yaml)
    datasets = src / "cnnexp" / "data" / "datasets.py"
    text = datasets.read_text()
    datasets.write_text(text.replace("SOURCES = {", "SOURCES = {" + inline("A dataset", '"kmnist"'), 1))

    entry, function = blocks("An invariance family.", "python")
    measures = src / "cnnexp" / "invariance" / "measures.py"
    measures.write_text(measures.read_text().replace("SUITE: tuple[Measure, ...] = (\n",
                                                     "SUITE: tuple[Measure, ...] = (\n" + entry, 1))
    runs = src / "cnnexp" / "invariance" / "runs.py"
    runs.write_text(runs.read_text() + "\n\n" + function)
    default = conf / "invariance" / "default.yaml"
    default.write_text(default.read_text() + inline("An invariance family.", "shear:") + "\n")

    out = tmp_path / "out"
    train = [sys.executable, "-c", "from cnnexp.cli.train import main; main()", "model=tiny", "data=kmnist",
             f"paths.data_dir={tmp_path / 'data'}", f"paths.log_dir={out}", "data.train_size=500",
             "data.val_size=500", "trainer.max_epochs=1", "invariance.num_images=200", "invariance.rotate=null",
             "invariance.measures=[]"]
    proc = subprocess.run(train, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(src)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = out.glob("train/runs/*")
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["inv/shear_auc"] <= 1 and metrics["params/total"] == 16 * 25 + 16 + 16 * 10 + 10
    config = json.loads((run / "invariance.json").read_text())
    assert config["shear"]["values"] == [-30, -20, -10, 0, 10, 20, 30]
    assert "kmnist" in (run / ".hydra" / "config.yaml").read_text()
