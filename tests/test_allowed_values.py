"""Allowed values are written once, in the code; the configs' comments and the option reference that name them
must say the same (a new pooling or activation that one of them misses fails here)."""

import re
from pathlib import Path

import pytest
import yaml

from cnnexp.invariance import CANVASES, SHIFT_MODES
from cnnexp.models.specs import POOLINGS, SPECS
from cnnexp.tune.settings import LAUNCHERS
from cnnexp.validate import CLIP_ALGORITHMS

REPO = Path(__file__).resolve().parents[1]
# Keys outside the models' specs whose comments list their values, and the code that decides them.
ALLOWED = {"shift_mode": SHIFT_MODES, "canvas": CANVASES, "gradient_clip_algorithm": CLIP_ALGORITHMS,
           "launcher": LAUNCHERS}


def listed(comment: str) -> tuple[str, ...]:
    """`a | b (why) | c: more` -> (a, b, c): the first word of each alternative."""
    return tuple(part.split()[0].rstrip(":,") for part in comment.split(":", 1)[0].split(" | ")
                 if part.split()) if " | " in comment else ()


def commented_choices() -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(file, key, the values its comment lists, the values the code allows) for each `key: value  # a | b`."""
    found = []
    for path in sorted((REPO / "conf").rglob("*.yaml")):
        text = path.read_text()
        target = (yaml.safe_load(text) or {}).get("_target_")
        choices = SPECS[target].choices if target in SPECS else ALLOWED
        for key, comment in re.findall(r"^\s*(\w+):[^#\n]*#\s*(.*)$", text, re.M):
            if listed(comment) and key in choices:
                found.append((str(path.relative_to(REPO)), key, listed(comment), tuple(choices[key])))
    return found


def test_comments_list_every_allowed_value():
    found = commented_choices()
    assert len(found) >= 10  # every model's poolings, activations, paddings, heads and the suite's modes
    wrong = [(f, key, said, allowed) for f, key, said, allowed in found if set(said) != set(allowed)]
    assert not wrong, wrong


def test_the_option_reference_lists_every_allowed_value():
    """docs/reference.md: "`key` (`a`, `b` = why, `c`; ...)" names exactly the values the code allows."""
    reference = (REPO / "docs" / "reference.md").read_text()
    keys = {**SPECS["cnnexp.models.lenet5.LeNet5"].choices, "rotation_pool":
            SPECS["cnnexp.models.lenet5_p4.LeNet5P4"].choices["rotation_pool"], **ALLOWED}
    for key, allowed in keys.items():
        match = re.search(rf"`{key}` \(([^)]*)\)", reference)
        if match is None:
            continue
        said = re.findall(r"`([^`]+)`", match[1].split(";")[0])
        assert set(said) == set(allowed), (key, said, allowed)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_every_allowed_pooling_builds(pooling):
    """The layers build every pooling validation allows (and refuse one it does not)."""
    from cnnexp.models.layers import make_pool

    assert make_pool(pooling, channels=6, size=2, stride=2) is not None
    with pytest.raises(ValueError, match="pooling 'median'"):
        make_pool("median", channels=6)


def test_every_spec_is_keyed_by_a_shipped_model_class():
    """A spec's key is the class path a model config's `_target_` names (validation joins them before torch
    loads): each names a class that imports, and each shipped model has its spec."""
    from hydra.utils import get_class

    targets = {yaml.safe_load(p.read_text()).get("_target_") for p in (REPO / "conf" / "model").glob("*.yaml")}
    assert set(SPECS) == targets - {None}
    assert all(get_class(key).__name__ == key.rsplit(".", 1)[-1] for key in SPECS)
