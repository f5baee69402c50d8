"""Helpers shared by the obc notebooks: find the obc binary and the contract, choose the output
folder, run obc.

The notebooks are templates: their first code cell holds the parameters (CONTRACT, OUT, OBC_BIN),
which an analyst sets to run them on a district of their own (or `notebooks/run.py --contract`
sets them). They import this module from the folder they sit in, so copy it with them to use
them outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def repo_root(start: Path | None = None) -> Path | None:
    """The obc repository: the first folder at or above `start` (default: the working
    directory) that holds Cargo.toml and data-samples/; None outside the repository."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        if (d / "Cargo.toml").is_file() and (d / "data-samples").is_dir():
            return d
    return None


def contract_path(contract: str | Path | None, root: Path | None) -> tuple[Path, bool]:
    """The contract to use and whether it is the sample district's.

    `contract` is the notebook's CONTRACT parameter: a path (`~` expanded; relative paths from
    the working directory), or None for the sample district, data-samples/contract.toml, which
    needs the repository. The flag is True for the sample: the notebooks then also check the
    numbers known for it (six providers, the simulated truth)."""
    sample = root / "data-samples" / "contract.toml" if root is not None else None
    if contract is None:
        if sample is None:
            raise FileNotFoundError(
                "CONTRACT is not set and this is not the obc repository (no data-samples/): "
                "set CONTRACT in the parameters cell to your contract.toml"
            )
        contract = sample
    path = Path(contract).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"CONTRACT={contract}: no such file")
    return path, sample is not None and path == sample.resolve()


def find_obc(root: Path | None = None, binary: str | Path | None = None) -> Path:
    """The obc binary: `binary` (the notebook's OBC_BIN parameter); else $OBC_BIN; else, inside
    the repository, the newest of debug/obc and release/obc under $CARGO_TARGET_DIR (relative
    paths are taken from the repository root) or target/; else `obc` on PATH (where
    `cargo install --locked --path .` puts it)."""
    chosen = binary or os.environ.get("OBC_BIN")
    if chosen:
        p = Path(chosen).expanduser()
        if not p.is_absolute():
            p = (root or Path.cwd()) / p
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise FileNotFoundError(f"OBC_BIN={chosen} is not an executable file")
        return p
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target").expanduser()
    if root is not None and not target.is_absolute():
        target = root / target
    found = [p for p in (target / "debug" / "obc", target / "release" / "obc") if p.is_file() and os.access(p, os.X_OK)]
    if root is not None and found:
        return max(found, key=lambda p: p.stat().st_mtime)
    on_path = shutil.which("obc")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(
        "no obc binary found: set OBC_BIN, or build one with `cargo build` "
        f"(looked in {target}/debug and {target}/release, then PATH)"
    )


def out_dir(name: str, out: str | Path | None = None) -> Path:
    """The folder for a notebook's outputs, created if missing and kept afterwards: `out` (the
    notebook's OUT parameter); else $OBC_NB_OUT/NAME (emptied first); else ~/obc-output/NAME.
    obc replaces its own outputs in the folder as a set (each file atomically, manifest last)."""
    if out is not None:
        d = Path(out).expanduser().resolve()
        d.mkdir(parents=True, exist_ok=True)
        return d
    base = os.environ.get("OBC_NB_OUT")
    if base:
        d = Path(base) / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d
    d = Path.home() / "obc-output" / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def run(obc: Path, *args: str | Path, cwd: Path | None = None, show: bool = True) -> subprocess.CompletedProcess:
    """Runs obc with `args`; prints what it printed; raises with its stderr if it fails."""
    cmd = [str(obc), *map(str, args)]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if show:
        print("$ obc " + " ".join(map(str, args)))
        if p.stdout:
            print(p.stdout.rstrip())
        if p.stderr:
            print(p.stderr.rstrip())
    if p.returncode != 0:
        raise RuntimeError(f"obc {' '.join(map(str, args))} exited with {p.returncode}:\n{p.stderr}")
    return p
