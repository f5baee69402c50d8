"""Helpers shared by the obc notebooks: find the repository and the obc binary, run obc.

The notebooks import this module after putting the notebooks/ folder on sys.path, so they
run the same way from Jupyter (working directory notebooks/) and from notebooks/run.py
(working directory: the repository root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The repository root: the first folder at or above `start` (default: the working
    directory) that holds Cargo.toml and data-samples/."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        if (d / "Cargo.toml").is_file() and (d / "data-samples").is_dir():
            return d
    raise RuntimeError(f"cannot find the obc repository (Cargo.toml + data-samples/) at or above {here}")


def find_obc(root: Path | None = None) -> Path:
    """The obc binary: $OBC_BIN; else the newest of debug/obc and release/obc under
    $CARGO_TARGET_DIR (relative paths are taken from the repository root) or target/;
    else `obc` on PATH."""
    root = root or repo_root()
    env = os.environ.get("OBC_BIN")
    if env:
        p = Path(env).expanduser()
        if not p.is_absolute():
            p = root / p
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise FileNotFoundError(f"OBC_BIN={env} is not an executable file")
        return p
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target").expanduser()
    if not target.is_absolute():
        target = root / target
    found = [p for p in (target / "debug" / "obc", target / "release" / "obc") if p.is_file() and os.access(p, os.X_OK)]
    if found:
        return max(found, key=lambda p: p.stat().st_mtime)
    on_path = shutil.which("obc")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(
        "no obc binary found: set OBC_BIN, or build one with `cargo build` "
        f"(looked in {target}/debug and {target}/release, then PATH)"
    )


def out_dir(name: str) -> Path:
    """A fresh folder for a notebook's outputs, outside the repository: under $OBC_NB_OUT if
    set, else a new temporary folder."""
    base = os.environ.get("OBC_NB_OUT")
    if base:
        d = Path(base) / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d
    return Path(tempfile.mkdtemp(prefix=f"obc-{name}-"))


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
