"""The claims' outputs: claims.json, report.md (verdict table, one section per claim), TensorBoard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
from torch.utils.tensorboard import SummaryWriter

from cnnexp.claims.budgets import verdicts
from cnnexp.claims.registry import Claim, Outcome
from cnnexp.claims.verdict import CORRECTED, HOLDS, INCONCLUSIVE, REFUTED, VOCABULARY, as_part
from cnnexp.files import atomic_write_bytes, write_json
from cnnexp.hparams import SETTINGS_FILE, write_experiment_of

MARK = {HOLDS: "✅ HOLDS", CORRECTED: "✏️ HOLDS WITH A CORRECTION", REFUTED: "❌ REFUTED",
        INCONCLUSIVE: "❔ INCONCLUSIVE"}
EARLIER = "Earlier versions of the claims (their rules as registered, on the same trainings)"


def claim_record(claim: Claim, outcome: Outcome, dataset: str) -> dict[str, Any]:
    if claim.trains:
        data = f"{dataset}: trained on its training split, measured on its official test set"
    elif claim.reads_data:
        data = f"{dataset}: its official test images"
    else:
        data = "none: closed form or random inputs; the verdict does not depend on the dataset"
    parts = {name: as_part(p).record() for name, p in outcome.parts.items()}
    return {"id": claim.id, "title": claim.title, "lecture": claim.lecture, "method": claim.method,
            "verdict": outcome.verdict, "rule": claim.rule, "key": outcome.key, "parts": parts,
            "checks": outcome.checks, "evidence": outcome.evidence, "figures": outcome.figures,
            "notes": outcome.notes, "trained": claim.trains, "data": data, "section": claim.section,
            "replaces": claim.replaces, "reason": claim.reason}


def _value(v: Any) -> str:
    if isinstance(v, dict) and {"mean", "ci95", "seeds"} <= set(v):
        return f"{v['mean']} ± {v['ci95']} (seeds: {', '.join(map(str, v['seeds']))})"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v) if len(v) <= 12 else f"{len(v)} values"
    return str(v)


def _table(rows: list[dict]) -> list[str]:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    return lines + ["| " + " | ".join(_value(r.get(k, "")) for k in keys) + " |" for r in rows]


def evidence_lines(evidence: dict, depth: int = 0) -> list[str]:
    """Evidence as markdown a student can read: bullets, nested bullets, tables for lists of records."""
    lines = []
    for key, value in evidence.items():
        pad = "  " * depth
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            lines += [f"{pad}- {key}:", "", *_table(value), ""]
        elif isinstance(value, dict) and not ({"mean", "ci95"} <= set(value)) and depth < 1 and any(
                isinstance(v, dict) for v in value.values()):
            lines += [f"{pad}- {key}:", *evidence_lines(value, depth + 1)]
        else:
            lines.append(f"{pad}- {key}: {_value(value)}")
    return lines


def cell(text: str) -> str:
    """Text for a markdown table cell: a `|` inside it (|a - b|) would end the cell."""
    return text.replace("|", "\\|")


def part_lines(record: dict) -> list[str]:
    """The judged parts as a table; an INCONCLUSIVE part says how many seeds would decide it."""
    if not record.get("parts"):
        return []
    rows = ["| part | verdict | measured |", "|---|---|---|"]
    for name, p in record["parts"].items():
        verdict = MARK[p["verdict"]] + (" (a slip: corrects the claim)" if p["slip"] and p["verdict"] == REFUTED else
                                        " (a detail of the wording)" if p["slip"] else "")
        measured = p["measured"]
        if p["verdict"] == INCONCLUSIVE:
            measured += (f"; {p['seeds_needed']} seeds per arm would decide it, if the spread stays as measured"
                         if p["seeds_needed"] else "; no number of seeds decides it: the mean sits on the margin")
        rows.append(f"| {name} | {verdict} | {cell(measured)} |")
    lines = ["**Parts judged.**", "", *rows, ""]
    if record.get("checks"):
        lines += ["**Checks of the implementation** (hold by construction; reported, not judged): "
                  + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in record["checks"].items()), ""]
    return lines


def section(record: dict, earlier: dict | None = None) -> str:
    lines = [f"## {record['id']} — {record['title']}", "", f"> {record['lecture']}", "",
             f"**Method.** {record['method']}", "", f"**Data.** {record['data']}", "",
             f"**Verdict rule.** {record['rule']}", "",
             f"**Verdict: {MARK[record['verdict']]}** — {record['key']}", ""]
    if earlier:
        lines += [f"**Replaces {earlier['id']}** (under its registered rule: {MARK[earlier['verdict']]}). "
                  f"Why: {record['reason']}", ""]
    lines += part_lines(record)
    if record["notes"]:
        title = "**Notes.**" if record.get("section") else "**Where the lecture is imprecise or wrong.**"
        lines += [title, ""] + [f"- {n}" for n in record["notes"]] + [""]
    lines += ["<details><summary>Measured numbers</summary>", "", *evidence_lines(record["evidence"]), "",
              "</details>", ""]
    lines += [f"![{record['id']}]({name})" for name in record["figures"]]
    return "\n".join(lines) + "\n"


def budget_lines(result: dict) -> list[str]:
    """Every trained claim's verdict and key number at this budget and at the other run's, side by side."""
    other = result.get("budgets")
    if not other:
        return ["", "No run of these claims at another training budget was found to compare with "
                    "(profile.compare_with)."] if any(r["trained"] for r in result["claims"]) else []
    lines = ["", f"**The verdicts at two training budgets.** Profile `{result['profile']}` beside profile "
                 f"`{other['profile']}` ({other['source']}; {other.get('wall_s') or 0:.0f} s on "
                 f"{other.get('machine')}, {other.get('date')}). A trained claim whose verdict differs is "
                 "**budget-sensitive**.", "",
             f"| id | `{result['profile']}` | key number | `{other['profile']}` | key number |",
             "|---|---|---|---|---|"]
    for r in result["claims"]:
        if "budget" in r:
            b = r["budget"]
            mark = " **budget-sensitive**" if b["sensitive"] else ""
            lines.append(f"| {r['id']} | {MARK[r['verdict']]}{mark} | {cell(r['key'])} | "
                         f"{MARK.get(b['verdict'], b['verdict'])}{mark} | {cell(b['key'])} |")
    return lines


def vocabulary() -> list[str]:
    return ["**How to read a verdict.** A claim's rule judges named parts of its sentence; the verdict is one of:", "",
            *[f"- {MARK[v]}: {meaning}." for v, meaning in VOCABULARY.items()],
            "- Rules registered before this vocabulary say PASS (read HOLDS) and FAIL (read REFUTED). A rule is never "
            "edited once its results were seen: a corrected rule is a new claim (`C19v2`) that says why, and the "
            f"earlier verdict stays beside it (section *{EARLIER}*).", ""]


def current_records(records: list[dict]) -> list[dict]:
    """The records of a claims.json that no later version replaces: the ones whose verdicts count."""
    replaced = {r.get("replaces") for r in records}
    return [r for r in records if r["id"] not in replaced]


def markdown(result: dict) -> str:
    records = {r["id"]: r for r in result["claims"]}
    replaced = {r["replaces"]: r["id"] for r in result["claims"] if r.get("replaces")}
    latest = current_records(result["claims"])
    counts = {v: sum(r["verdict"] == v for r in latest) for v in MARK}
    t = result["trainings"]
    head = [f"# The lecture's claims, checked on {result['dataset']} (profile `{result['profile']}`)", "",
            f"Lecture 13, *Convolutional Neural Networks*. Claims checked: {len(latest)}"
            + (f" (and {len(replaced)} earlier versions)" if replaced else "") + "; "
            + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ". "
            f"Wall time {result['wall_s']:.0f} s on {result['machine']}; trainings: {t['trained']} trained "
            f"({t['fit_s']:.0f} s), {t['cached']} read from the cache. Trained claims use seeds "
            f"{', '.join(map(str, result['seeds']))} and report mean ± 95% t-interval half-width; test accuracy "
            f"is on the official 10,000-image {result['dataset']} test set"
            + (f", the invariance curves on its first {result['curve_images']:,} images." if result["curve_images"]
               else "."), "", *vocabulary(),
            "| id | claim | verdict | earlier version | key number |", "|---|---|---|---|---|"]
    sections, previous = [], ""
    for r in latest:
        if r.get("section", "") != previous:  # a new group of claims: a row in the table, a title before it
            previous = r["section"]
            head.append(f"| | **{previous}** | | | |")
            sections.append(f"# {previous}\n")
        earlier = records.get(r.get("replaces", ""))
        sensitive = " **budget-sensitive**" if r.get("budget", {}).get("sensitive") else ""
        head.append(f"| [{r['id']}](#{r['id'].lower()}) | {r['title']} | {MARK[r['verdict']]}{sensitive} | "
                    + (f"{earlier['id']}: {MARK[earlier['verdict']]}" if earlier else "") + " | "
                    f"{cell(r['key'])} |")
        sections.append(section(r, earlier))
    head += budget_lines(result)
    old = [records[i] for i in replaced if i in records]
    if old:
        sections += [f"# {EARLIER}\n", *(f"{section(r)}\nReplaced by [{replaced[r['id']]}]"
                                         f"(#{replaced[r['id']].lower()}).\n" for r in old)]
    return "\n".join(head) + "\n\n" + "\n".join(sections)


def write_report(result: dict, out_dir: Path) -> None:
    write_json(out_dir / "claims.json", result)
    write_json(out_dir / "verdicts.json", verdicts(result))
    atomic_write_bytes(out_dir / "report.md", markdown(result).encode())
    log_to_tensorboard(result, out_dir)


def tensorboard_text(md: str) -> str:
    """report.md in the markdown TensorBoard's Text tab renders: it shows HTML (<details>) as literal text,
    cannot reach a figure's file (they are in its Images tab), and an in-page link breaks its navigation."""
    md = md.replace("<details><summary>Measured numbers</summary>", "**Measured numbers.**").replace("</details>", "")
    md = re.sub(r"!\[([^]]*)\]\(([^)]*)\)", lambda m: f"*Figure: Images tab, `claims/{m[1]}/{Path(m[2]).stem}`.*", md)
    return re.sub(r"\[([^]]*)\]\(#[^)]*\)", r"\1", md)


def log_to_tensorboard(result: dict, out_dir: Path) -> None:
    """The same text (the summary first: tags sort by name) and figures under TensorBoard's Text and Images tabs."""

    with SummaryWriter(str(out_dir / "tensorboard")) as writer:
        writer.add_text("claims/0_summary", tensorboard_text(markdown(result).split("\n## ")[0]))
        for record in result["claims"]:
            writer.add_text(f"claims/{record['id']}", tensorboard_text(section(record)))
            for name in record["figures"]:
                image = mpimg.imread(out_dir / name)[..., :3]
                writer.add_image(f"claims/{record['id']}/{Path(name).stem}", image, dataformats="HWC")
    # The trainings' HParams columns, those where the arms differ marked and first (cnnexp.hparams).
    write_experiment_of(out_dir / "tensorboard", sorted((out_dir / "tensorboard").glob(f"*/seed*/{SETTINGS_FILE}")),
                        (out_dir / "trainings").glob("*/metrics.json"))
