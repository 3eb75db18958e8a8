"""Tasks run in parallel, on a local process pool or a Dask cluster, with retries.

One mechanism for every sweep (capacity questions now, canary questions next):
the caller gives plain-data tasks and a picklable, module-level function of one
task; `run_tasks` runs them, retries a task whose try failed, reports progress as
each finishes, and returns the results in task order, so that the same tasks
give the same results, byte for byte, whichever executor ran them.

- "local": a process pool (spawned workers). A worker that dies breaks the pool;
  the tasks it had not finished are run again in a new one.
- "tcp://HOST:PORT": a Dask scheduler started as users start one (`dask
  scheduler`, `dask worker tcp://HOST:PORT`). Its scheduler reschedules a dead
  worker's tasks itself; `retries` covers tasks that raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]
"""progress(done, total), called each time a task finishes."""


class ExecutorUnavailable(Exception):
    """The executor cannot run here (a scheduler that does not answer): what and how."""

    def __init__(self, what: str, how: str = ""):
        super().__init__(what)
        self.what = what
        self.how = how


def executor_problem(executor: str) -> str | None:
    """Why this executor name is not one (None when it is)."""
    if executor == "local":
        return None
    if executor.startswith("tcp://") and ":" in executor.removeprefix("tcp://"):
        return None
    return "use local or tcp://HOST:PORT (a Dask scheduler)"


def run_tasks(fn: Callable[[T], R], tasks: Sequence[T], executor: str = "local",
              workers: int | None = None, progress: Progress | None = None,
              retries: int = 2) -> list[R]:
    """fn(task) for every task; results in task order. Raises the task's own error once it
    failed 1 + retries times, ExecutorUnavailable when the executor cannot be reached."""
    if not tasks:
        return []
    tick = progress or (lambda _d, _t: None)
    if executor == "local":
        return _local(fn, tasks, workers, tick, retries)
    return _dask(fn, tasks, executor, tick, retries)


def _local(fn: Callable[[T], R], tasks: Sequence[T], workers: int | None, tick: Progress,
           retries: int) -> list[R]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    n = len(tasks)
    results: list[Any] = [None] * n
    left = list(range(n))
    tries = [0] * n
    done = 0
    barren = 0  # pools in a row that broke before finishing anything
    context = multiprocessing.get_context("spawn")
    while left:
        before = done
        with ProcessPoolExecutor(max_workers=min(workers or 2, len(left)),
                                 mp_context=context) as pool:
            pending = {pool.submit(fn, tasks[i]): i for i in left}
            again: list[int] = []
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    i = pending.pop(f)
                    try:
                        results[i] = f.result()
                    except BrokenProcessPool:
                        again.append(i)
                        continue
                    except Exception:
                        tries[i] += 1
                        if tries[i] > retries:
                            raise
                        again.append(i)
                        continue
                    done += 1
                    tick(done, n)
        # a dead worker is not its tasks' fault (Dask counts it apart too): run them again,
        # unless pools keep breaking with nothing done
        barren = barren + 1 if done == before else 0
        if barren >= 3:
            raise RuntimeError(f"the process pool broke {barren} times without finishing a task")
        left = sorted(again)
    return results


def _dask(fn: Callable[[T], R], tasks: Sequence[T], address: str, tick: Progress,
          retries: int) -> list[R]:
    import uuid

    try:
        from distributed import Client, as_completed
    except ImportError as e:  # pragma: no cover - a locked dependency
        raise ExecutorUnavailable("dask.distributed is not installed",
                                  "pip install 'dask[distributed]' (it is in requirements.lock)"
                                  ) from e
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise ExecutorUnavailable(
            f"no Dask scheduler answers at {address}",
            "start one with `dask scheduler` and workers with `dask worker " + address + "`, "
            "or use --executor local") from e
    run = uuid.uuid4().hex[:8]
    try:
        futures = [client.submit(fn, t, key=f"twin-task-{run}-{i}", retries=retries, pure=False)
                   for i, t in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for done, f in enumerate(as_completed(futures), 1):
            results[index[f.key]] = f.result()
            tick(done, len(tasks))
        return results
    finally:
        client.close()
