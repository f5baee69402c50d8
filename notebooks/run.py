#!/usr/bin/env python3
"""Executes every notebook in notebooks/ top to bottom; exits non-zero on any error.

    python notebooks/run.py                 # all notebooks
    python notebooks/run.py 02_settle       # those whose name contains the argument
    python notebooks/run.py --check-clean   # only check that committed notebooks have no outputs
    python notebooks/run.py --save DIR      # also write the executed notebooks (with outputs) to DIR

The notebooks run from the repository root with a python3 kernel (nbclient), each cell with a
timeout (OBC_NB_TIMEOUT seconds, default 300), writing their outputs under $OBC_NB_OUT (default:
a temporary folder removed at the end). They find obc through $OBC_BIN, then
target/debug|release/obc (honouring CARGO_TARGET_DIR), then PATH. Executed copies are never
written back: the committed notebooks stay without outputs, which this script checks first.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in IPython tracebacks
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def notebooks() -> list[Path]:
    return sorted(HERE.glob("*.ipynb"))


def check_clean(paths: list[Path]) -> list[str]:
    """Committed notebooks must have no outputs and no execution counts."""
    problems = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        nbformat.validate(nb)
        if nb.metadata.get("kernelspec", {}).get("name") != "python3":
            problems.append(f"{p.name}: kernel is not python3")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if cell.get("execution_count") is not None or cell.get("outputs"):
                problems.append(f"{p.name}: cell {i} has outputs or an execution count (clear them before committing)")
    return problems


def run(path: Path, timeout: int, save: Path | None) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},  # the kernel's working directory
        allow_errors=False,
    )
    t = time.perf_counter()
    try:
        client.execute()
    finally:
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, save / path.name)
    return time.perf_counter() - t


def main(argv: list[str]) -> int:
    paths = notebooks()
    if not paths:
        print(f"no notebooks in {HERE}", file=sys.stderr)
        return 1
    problems = check_clean(paths)
    for m in problems:
        print("NOT CLEAN:", m, file=sys.stderr)
    if "--check-clean" in argv:
        return 1 if problems else 0
    save = None
    if "--save" in argv:
        i = argv.index("--save")
        if i + 1 >= len(argv):
            print("--save needs a folder", file=sys.stderr)
            return 2
        save = Path(argv[i + 1]).resolve()
        if save.is_relative_to(HERE):
            print("--save: write executed notebooks outside notebooks/", file=sys.stderr)
            return 2
        argv = argv[:i] + argv[i + 2 :]
    wanted = [a for a in argv if not a.startswith("-")]
    if wanted:
        paths = [p for p in paths if any(w in p.name for w in wanted)]
    timeout = int(os.environ.get("OBC_NB_TIMEOUT", "300"))
    failed = bool(problems)
    # the notebooks write under $OBC_NB_OUT (inherited by the kernels); a temporary folder
    # removed afterwards unless the caller chose one
    scratch = None
    if not os.environ.get("OBC_NB_OUT"):
        scratch = tempfile.TemporaryDirectory(prefix="obc-notebooks-")
        os.environ["OBC_NB_OUT"] = scratch.name
    for p in paths:
        try:
            secs = run(p, timeout, save)
            print(f"ok    {p.name}  {secs:.1f} s", flush=True)
        except CellExecutionError as e:
            failed = True
            print(f"FAIL  {p.name}\n{ANSI.sub('', str(e))}", file=sys.stderr, flush=True)
        except Exception as e:  # kernel died, timeout, ...
            failed = True
            print(f"FAIL  {p.name}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    if scratch is not None:
        scratch.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
