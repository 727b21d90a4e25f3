"""What cnnexp-train imports before it refuses a bad config, and before its first training step
(issue #19: start-up is almost all imports, so each one must be needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Top-level packages of the refusal path: the command's front is Hydra (its plugins found, OmegaConf, PyYAML
# with its Cython part) and cnnexp only.
FRONT = {"hydra", "hydra_plugins", "omegaconf", "yaml", "cython_runtime", "antlr4", "attr", "packaging", "cnnexp"}
# Before the first step a run adds to what `import lightning` loads (torch, torchmetrics, torchvision,
# scipy, matplotlib, all Lightning's choice) only these: its own code, the TensorBoard writer (the logger
# and its protobufs) and Hydra's plugin discovery.
RUN_EXTRA = {"cnnexp", "tensorboard", "google", "absl", "hydra_plugins"}


def _top_level(names) -> set[str]:
    return {n.split(".")[0] for n in names if not n.startswith("_")}


@pytest.mark.parametrize("args, also", [
    (["model.kernel_size=0"], set()),
    # A dataset's files are checked before torch loads too (numpy: its registry route's).
    (["paths.data_dir=none", "data.download=false"], {"numpy"}),
], ids=["bad config", "missing data"])
def test_a_refused_config_imports_only_the_front(tmp_path, args, also):
    code = textwrap.dedent(f"""
        import json, sys
        base = set(sys.modules)
        from cnnexp.cli.train import main
        sys.argv = ["cnnexp-train", *{args!r}]
        try:
            main()
        except SystemExit as e:
            print(json.dumps({{"status": e.code, "modules": sorted(set(sys.modules) - base)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["status"] == 2, proc.stderr
    stdlib = set(sys.stdlib_module_names)
    extra = sorted(_top_level(out["modules"]) - stdlib - FRONT - also)
    assert not extra, f"the refusal ({' '.join(args)}) imported {extra}"


@pytest.mark.slow
def test_a_run_imports_nothing_but_lightnings_imports_before_its_first_step(tmp_path, data_dir):
    # A callback that records sys.modules at the first training step and ends the run there.
    (tmp_path / "modules_probe.py").write_text(textwrap.dedent("""
        import json, sys
        import lightning as L

        class ModulesProbe(L.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                print("modules=" + json.dumps(sorted(sys.modules)), flush=True)
                raise SystemExit(0)
    """))
    train = [sys.executable, "-m", "cnnexp.cli.train", f"paths.data_dir={data_dir}", "invariance=none",
             "+callbacks.probe._target_=modules_probe.ModulesProbe"]
    proc = subprocess.run(train, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("modules=")), None)
    assert line, proc.stderr[-2000:]
    at_first_step = _top_level(json.loads(line.removeprefix("modules=")))
    lightning = subprocess.run([sys.executable, "-c", "import json, sys, lightning, hydra; "
                                "print(json.dumps(sorted(sys.modules)))"], capture_output=True, text=True, timeout=300)
    baseline = _top_level(json.loads(lightning.stdout))
    extra = sorted(at_first_step - baseline - RUN_EXTRA - {"modules_probe"})
    assert not extra, f"before its first step the run imported {extra} beyond Lightning's own imports"
