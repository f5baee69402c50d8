#!/usr/bin/env python3
"""Executes every notebook in notebooks/ top to bottom; exits non-zero on any error.

    python notebooks/run.py                 # all notebooks
    python notebooks/run.py 02_settle       # those whose name contains the argument
    python notebooks/run.py --check-clean   # only check that committed notebooks have no outputs
    python notebooks/run.py --save DIR      # also write the executed notebooks (with outputs) to DIR
    python notebooks/run.py --contract C --out DIR   # run them on your own district's contract

Each notebook is a template: its cell tagged `parameters` sets CONTRACT, OUT and OBC_BIN, and this
script adds a cell after it (tagged `injected-parameters`, as papermill does) that sets CONTRACT
to data-samples/contract.toml (or --contract) and OUT to NAME/ under --out, $OBC_NB_OUT or a
temporary folder removed at the end. The notebooks run in their own folder (as in Jupyter) with a python3
kernel (nbclient), each cell with a timeout (OBC_NB_TIMEOUT seconds, default 300). They find obc
through $OBC_BIN, then target/debug|release/obc (honouring CARGO_TARGET_DIR), then PATH. Executed
copies are never written back: the committed notebooks stay without outputs and keep their
parameters cell, which this script checks first.
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
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        if len(tagged) != 1 or tagged[0].cell_type != "code":
            problems.append(f"{p.name}: needs exactly one code cell tagged `parameters` (it has {len(tagged)})")
    return problems


def inject(nb, params: dict[str, str]) -> None:
    """Adds, after the cell tagged `parameters`, a cell that sets the given parameters."""
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    lines = ["# Injected by notebooks/run.py"] + [f"{k} = {v!r}" for k, v in params.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    cell.id = "injected-parameters"
    nb.cells.insert(at + 1, cell)


def run(path: Path, timeout: int, save: Path | None, params: dict[str, str]) -> float:
    nb = nbformat.read(path, as_version=4)
    inject(nb, params)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},  # the kernel starts in the notebooks folder, as Jupyter does
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
    options = {}
    for flag in ["--save", "--contract", "--out"]:
        if flag in argv:
            i = argv.index(flag)
            if i + 1 >= len(argv):
                print(f"{flag} needs a path", file=sys.stderr)
                return 2
            options[flag] = Path(argv[i + 1]).expanduser().resolve()
            argv = argv[:i] + argv[i + 2 :]
    save = options.get("--save")
    if save is not None and save.is_relative_to(HERE):
        print("--save: write executed notebooks outside notebooks/", file=sys.stderr)
        return 2
    contract = options.get("--contract", ROOT / "data-samples" / "contract.toml")
    if not contract.is_file():
        print(f"--contract {contract}: no such file", file=sys.stderr)
        return 2
    if "--out" in options:
        os.environ["OBC_NB_OUT"] = str(options["--out"])
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
        name = p.stem.split("_", 1)[-1]  # 01_set_target_from_history -> set_target_from_history
        params = {"CONTRACT": str(contract), "OUT": str(Path(os.environ["OBC_NB_OUT"]) / name)}
        try:
            secs = run(p, timeout, save, params)
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
