"""Where a command writes, checked before it does any work.

An `--out` that names an existing file, or a place that cannot be written (a
read-only folder, a file in the way, /proc), is bad input: it is named with the
command's other problems and the command exits 2 before it has simulated or
written anything, instead of failing at the end of a long run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from twin.model.errors import Problem


def problems(option: str, path: Path | None, directory: bool = True) -> list[Problem]:
    """What stops `path` (a folder, or a file when `directory` is False) from being written.

    The writers put their files beside the target first and move them in (twin.result.io,
    twin.render), so the target's parent must take a new file as well as the target."""
    if path is None:
        return []

    def bad(message: str) -> list[Problem]:
        return [Problem(str(path), 0, 0, option, message)]

    if path.exists():
        if directory and not path.is_dir():
            return bad("exists and is not a directory")
        if not directory and path.is_dir():
            return bad("is a directory; name a file")
        if directory and not _takes_files(path):
            return bad(f"cannot write in {path}")
    parent = path.absolute().parent
    while not parent.exists():  # the writers create missing folders on the way
        parent = parent.parent
    if not parent.is_dir():
        return bad(f"{parent} is a file, not a folder")
    if not _takes_files(parent):
        return bad(f"cannot write in {parent}")
    return []


def _takes_files(folder: Path) -> bool:
    """A file can be made there (as root, os.access says yes even on a read-only mount)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
