"""Errors in input files, each naming the file, line, column and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ModelError(Exception):
    """Bad input: all problems found at once. The CLI prints them and exits 2."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is probably a misspelling of (difflib's ratio of 0.75 and more;
    `concurency` for `concurrency`, `postgress` for `postgres`), or None."""
    from difflib import get_close_matches

    found = get_close_matches(name, sorted(set(known)), n=1, cutoff=0.75)
    return found[0] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`; did you mean 'postgres'?` to end a message about an unknown name, or ``."""
    match = closest(name, known)
    return f"; did you mean {match!r}?" if match is not None and match != name else ""


def no_such(what: str, name: str, known: Iterable[str]) -> str:
    """`no route named 'chta'; did you mean 'chat'?`, or, when no known name is close,
    the names there are: the one sentence for a name that resolves to nothing."""
    known = list(dict.fromkeys(known))
    hint = did_you_mean(name, known)
    if hint or not known:
        return f"no {what} named {name!r}{hint}"
    return f"no {what} named {name!r} (have: {', '.join(known)})"
