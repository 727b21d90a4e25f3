"""What a user sees in TensorBoard for a finished sweep, read back through TensorBoard's own HTTP API."""

import re

import pytest

from tests.conftest import get

pytestmark = pytest.mark.slow



def session_groups(base: str, *columns: str, exclude_missing: bool = False) -> list[dict]:
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 10, "aggregationType": "AGGREGATION_AVG",
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
               "colParams": [{"hparam": c, "excludeMissingValues": exclude_missing} for c in columns]
               + [{"metric": {"tag": "test/acc", "group": ""}}]}
    return get(base, "/data/plugin/hparams/session_groups", request=request)["sessionGroups"]


def test_sweep_runs_scalars_hparams_and_layout_over_http(sweep):
    base, metrics, _ = sweep
    # Run names are the overrides that vary between the jobs (not the constant ones, not version_0); "." holds
    # the experiment summary alone.
    runs = [r for r in get(base, "/data/runs") if r != "."]
    assert sorted(runs) == sorted(metrics) == ["0_model.pooling=max", "1_model.pooling=avg", "mlp/tb/mlp"]
    for run in runs:
        for tag in ("test/acc", "inv/shift_consistency"):
            ((_, _, value),) = get(base, "/data/plugin/scalars/scalars", run=run, tag=tag)
            assert value == pytest.approx(metrics[run][tag], abs=1e-6)
        assert len(get(base, "/data/plugin/scalars/scalars", run=run, tag="val/acc")) == 1

    experiment = get(base, "/data/plugin/hparams/experiment", request={"experimentName": ""})
    assert "model/pooling" in {h["name"] for h in experiment["hparamInfos"]}
    assert {"test/acc", "inv/shift_consistency"} <= {m["name"]["tag"] for m in experiment["metricInfos"]}
    groups = session_groups(base, "model/pooling")
    assert len(groups) == 3
    for group in groups:
        run = group["name"]
        if group["hparams"]["model/pooling"] != "n/a":
            assert f"model.pooling={group['hparams']['model/pooling']}" in run
        (acc,) = [m["value"] for m in group["metricValues"] if m["name"]["tag"] == "test/acc"]
        assert acc == pytest.approx(metrics[run]["test/acc"], abs=1e-6)

    layout = get(base, "/data/plugin/custom_scalars/layout")
    charts = {c["title"]: [ch["multiline"]["tag"] for ch in c["chart"]] for c in layout["category"]}
    assert ["^train/acc$", "^val/acc$"] in charts["train vs val"]
    assert list(charts) == ["train vs val"]
    # Each regex draws exactly its own series (`train/loss` must not also draw `train/loss_step`).
    tags = get(base, "/data/plugin/scalars/tags")[runs[0]]
    for chart in charts["train vs val"]:
        assert [[t for t in tags if re.search(regex, t)] for regex in chart] == [[r[1:-1]] for r in chart]
    assert len(get(base, "/data/plugin/scalars/scalars", run=runs[0], tag="train/lr")) >= 1
    assert "epoch" not in tags  # Lightning's chart of the x-axis itself, the first card of the Scalars tab


def test_one_event_file_per_run(sweep):
    """Everything a run shows is written through its logger's one writer (Lightning closes it after fit)."""
    _, metrics, sweep_dir = sweep
    for run in metrics:
        assert len(list((sweep_dir / run).glob("events.out.*"))) == 1, run


def test_hparams_show_the_chosen_settings_differing_first_over_http(sweep):
    """The columns a user chose, those that differ between the runs first and marked; the final metrics."""
    base, metrics, _ = sweep
    infos = get(base, "/data/plugin/hparams/experiment", request={"experimentName": ""})["hparamInfos"]
    names = [h["name"] for h in infos]
    differing = [h["name"] for h in infos if h.get("differs")]
    assert names[:len(differing)] == differing
    # Where the runs that have a setting differ: `model/hidden` (the MLP's alone, n/a in the CNNs) is not
    # marked, else the options of two model families would push the swept `model/pooling` out of the ticked five.
    assert set(differing) == {"model", "model/pooling", "overrides"}
    assert {"seed", "data", "optimizer", "scheduler", "augment", "optim/lr"} <= set(names) - set(differing)
    assert not [n for n in names if "dir" in n or "plugins" in n or n.startswith("invariance") or "seed" in n[1:]]
    metric_tags = [m["name"]["tag"] for m in get(base, "/data/plugin/hparams/experiment",
                                                   request={"experimentName": ""})["metricInfos"]]
    assert metric_tags[:2] == ["val/acc_best", "test/acc"] and "train/loss" not in metric_tags

    groups = {g["name"]: g for g in session_groups(base, "model", "optimizer", "overrides")}
    for run, group in groups.items():
        assert group["hparams"]["optimizer"] == "adamw"
        (best,) = [m["value"] for m in group["metricValues"] if m["name"]["tag"] == "val/acc_best"]
        assert best == pytest.approx(metrics[run]["val/acc_best"], abs=1e-6)
    for run in groups:  # the final metrics as one table in the Text tab
        (table,) = [v["text"] for v in get(base, "/data/plugin/text/text", run=run, tag="metrics/final/text_summary")]
        assert f"<td>{metrics[run]['test/acc']:.6g}</td>" in table and "<td>val/acc_best</td>" in table
    (mlp,) = [g for r, g in groups.items() if r.startswith("mlp")]
    assert mlp["hparams"]["model"] == "mlp" and mlp["hparams"]["overrides"].startswith("model=mlp ")


def test_hparams_filter_keeps_every_model_family_over_http(sweep):
    """A column only CNNs have still holds a value for the MLP, so a view that needs a value in every shown
    column (parallel coordinates; here: excluding missing values) drops no run."""
    base, metrics, _ = sweep
    for column in ("model/pooling", "model/hidden"):
        groups = session_groups(base, column, exclude_missing=True)
        assert sorted(g["name"] for g in groups) == sorted(metrics)


def test_invariance_curves_are_figures_not_smoothed_scalars_over_http(sweep):
    """A curve's x-axis is a magnitude, not time: a figure with its unit, not a (smoothed) scalar series."""
    base, _, _ = sweep
    run = next(r for r in get(base, "/data/runs") if "model.pooling=max" in r)
    assert not [t for t in get(base, "/data/plugin/scalars/tags")[run] if t.startswith("invariance/")]
    images = get(base, "/data/plugin/images/tags")[run]
    assert {"invariance/shift_x", "invariance/rotate", "invariance/scale", "invariance/fgsm"} <= set(images)
