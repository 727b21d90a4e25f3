"""Each claims arm trains at its own recipe: the best trial on validation of a cnnexp-tune study run at the quick
profile's training budget, which never read the test set (docs/recipes.md)."""

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


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_recipe_is_the_best_trial_of_its_study_on_validation(arm):
    found = study(arm)
    complete = [t for t in found["all_trials"] if t["state"] == "complete"]
    best = max(complete, key=lambda t: t["val/acc_best"])
    assert found["metric"] == "val/acc_best" and found["best"]["number"] == best["number"]
    recipe = yaml.safe_load((Path(CONF_DIR) / "recipe" / f"{arm}.yaml").read_text())["optim"]["optimizer"]
    assert recipe == {"lr": best["params"]["optim.optimizer.lr"],
                      "weight_decay": best["params"]["optim.optimizer.weight_decay"]}
    # Searched on what the claim trains (network, augmentation) at the quick budget, without the test set.
    searched = set(found["overrides"])
    assert {o for o in trained_as(ARMS[arm]) if not o.startswith("recipe=")} <= searched
    assert {"test=false", "hparams_search=recipe", *BUDGET} <= searched and found["best"]["test/acc"] is None
    assert found["command"].startswith("cnnexp-tune ") and f"tune.study_name=recipe-{arm}" in found["command"]


def test_every_arm_had_the_same_number_of_trials():
    assert {len(study(arm)["all_trials"]) for arm in ARMS} == {16}
