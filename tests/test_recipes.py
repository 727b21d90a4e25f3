"""Each claims arm trains at its own recipe: the best trial on validation of a cnnexp-tune study run at the quick
profile's training budget, which never read the test set, that also trains on the claims' other seeds
(docs/recipes.md)."""

import json
from pathlib import Path

import pytest
import yaml

from cnnexp.claims.arms import trained_as
from cnnexp.claims.families import all_claims
from cnnexp.claims.trainings import as_overrides
from cnnexp.config import CONF_DIR

ROOT = Path(__file__).parent.parent
ARMS = {name: overrides for claim in all_claims().values() for name, overrides in claim.arms}
QUICK = yaml.safe_load((Path(CONF_DIR) / "profile" / "quick.yaml").read_text())
# What a quick-profile training reads of the profile (its evaluation settings do not change the training).
BUDGET = [o for o in as_overrides(QUICK["train"]) if o.startswith(("data.", "trainer."))]


def study(arm: str) -> dict:
    return json.loads((ROOT / "docs" / "recipes" / f"{arm}.json").read_text())


def test_every_arm_trains_at_a_recipe_of_its_own():
    assert len(ARMS) >= 13 and BUDGET == ["data.train_size=10000", "trainer.max_epochs=4"]
    for name, overrides in ARMS.items():
        assert f"recipe={name}" in overrides
        assert (Path(CONF_DIR) / "recipe" / f"{name}.yaml").is_file()


# A recipe must train on every seed of the claims: on seeds 1 and 2 its validation accuracy is at most this many
# points below seed 0's (the study's), else the next best trial is checked.
STABLE = 5.0


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_recipe_is_the_best_trial_of_its_study_on_validation(arm):
    found = study(arm)
    ranked = sorted((t for t in found["all_trials"] if t["state"] == "complete"), key=lambda t: -t["val/acc_best"])
    assert found["metric"] == "val/acc_best" and found["best"]["number"] == ranked[0]["number"]
    checked = found["seed_check"]["checked"]
    # The trials checked are the best ones in order, every one before the chosen unstable, the chosen stable.
    assert [c["trial"] for c in checked] == [t["number"] for t in ranked[:len(checked)]]
    for c in checked:
        by_seed = c["val/acc_best_by_seed"]
        assert set(by_seed) == {"0", "1", "2"} and by_seed["0"] == next(t for t in ranked if t["number"] == c["trial"])[
            "val/acc_best"]
        assert c["stable"] == all(100 * (by_seed["0"] - v) <= STABLE for v in by_seed.values())
    assert [c["stable"] for c in checked] == [False] * (len(checked) - 1) + [True]
    chosen = ranked[len(checked) - 1]
    recipe = yaml.safe_load((Path(CONF_DIR) / "recipe" / f"{arm}.yaml").read_text())["optim"]["optimizer"]
    assert recipe == {"lr": chosen["params"]["optim.optimizer.lr"],
                      "weight_decay": chosen["params"]["optim.optimizer.weight_decay"]}
    # Searched on what the claim trains (network, augmentation) at the quick budget, without the test set.
    searched = set(found["overrides"])
    assert {o for o in trained_as(ARMS[arm]) if not o.startswith("recipe=")} <= searched
    assert {"test=false", "hparams_search=recipe", *BUDGET} <= searched and found["best"]["test/acc"] is None
    assert found["command"].startswith("cnnexp-tune ") and f"tune.study_name=recipe-{arm}" in found["command"]


def test_every_arm_had_the_same_number_of_trials():
    assert {len(study(arm)["all_trials"]) for arm in ARMS} == {16}
