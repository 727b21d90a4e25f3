"""cnnexp-report DIR: one table for a sweep (or a folder of runs), grouped by what was swept, ranked by
validation with test beside it (summary.csv, summary.md, summary.tex, summary.png in DIR)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cnnexp.cli.common import fail


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cnnexp-report", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a sweep dir (outputs/train/multiruns/...) or a folder of runs")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        fail("cnnexp-report", f"{args.dir} is not a directory")
    if not os.access(args.dir, os.W_OK | os.X_OK):
        fail("cnnexp-report", f"{args.dir} is not writable: the summary is written into it")
    from cnnexp.sweeps.summary import report

    try:
        _, md = report(args.dir)
    except FileNotFoundError as e:
        fail("cnnexp-report", str(e))
    except OSError as e:  # the runs are read through cnnexp.readers: what fails here is writing the summary
        fail("cnnexp-report", f"cannot write {e.filename}: {e.strerror}")
    print(md.read_text())


if __name__ == "__main__":
    main()
