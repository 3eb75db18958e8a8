"""Writing a run's folder atomically: result.json, run.json and the plots.

Everything is written into a temporary sibling folder first and moved into
place file by file with os.replace, so a reader never sees a half-written
result.json, and a failed run leaves the previous folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from twin.result.model import Result, RunInfo


def result_json(result: Result) -> str:
    """Deterministic text: the same Result gives the same bytes."""
    return json.dumps(result.model_dump(mode="json"), indent=1, ensure_ascii=False,
                      allow_nan=False) + "\n"


def read_result(path: str | Path) -> Result:
    return Result.model_validate_json(Path(path).read_text(encoding="utf-8"))


def write_file(path: Path, data: bytes) -> None:
    """One file, atomically (a temporary sibling renamed into place), readable as a file
    written with open() would be: mkstemp's 0600 honours no umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish(tmp: Path, out: Path, stale: tuple[str, ...] = ()) -> list[Path]:
    """Move every file of `tmp` into `out` with os.replace; other files in `out` stay,
    except earlier outputs matching a `stale` glob that this run no longer writes."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    names = {f.name for f in tmp.iterdir()}
    for pattern in stale:
        for old in out.glob(pattern):
            if old.is_file() and old.name not in names:
                old.unlink()
    written = []
    for f in sorted(tmp.iterdir()):
        os.replace(f, out / f.name)
        written.append(out / f.name)
    return written


def write_run(out: str | Path, result: Result, info: RunInfo | None = None,
              plots: bool = True) -> list[Path]:
    """Write result.json, run.json and PNGs into `out`; returns the files written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "result.json").write_text(result_json(result), encoding="utf-8")
        if info is not None:
            (tmp / "run.json").write_text(info.model_dump_json(indent=1) + "\n", encoding="utf-8")
        if plots:
            from twin.result.plots import plot_result

            plot_result(result, tmp)
        return publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
