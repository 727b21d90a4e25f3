"""The README's "Extending cnnexp" recipes work as written."""

import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


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
new = all_claims()["C20"]
assert new.check(Context(out_dir=Path({str(tmp_path)!r}), seed=0)).verdict == HOLDS
assert overall(new.judge({{"weights": 24}})) == REFUTED
"""
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
