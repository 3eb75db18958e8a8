"""PostgreSQL for the stand-in: one connection pool per pod, of the model's size.

The pool opens all its connections when the pod starts (as the simulator's
pods do), so pods x pool beyond the server's max_connections shows as
"sorry, too many clients already" on the pods that come last. Each operation
holds one connection for a real statement on a small table of the stand-in's
own: read (SELECT by key), write (INSERT), query (an aggregate). The step's
service time, when the model gives one, is spent inside the server
(pg_sleep), holding the connection as the simulator holds its pool slot.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

TABLE = "twin_standin"
DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, service text NOT NULL, "
       "route text, at timestamptz NOT NULL DEFAULT now())")


class Postgres:
    def __init__(self, store: dict[str, Any], who: str, rng: random.Random):
        self.store = store
        self.who = who
        self.rng = rng
        self.size = int(store.get("pool", 10))
        self.ops = 0
        self.connects = 0
        self.connect_errors = 0
        self.last_error = ""
        self._pool: Any = None
        self._ready = False

    def conninfo(self) -> str:
        s = self.store
        return (f"host={s['host']} port={s['port']} dbname={s.get('database', 'postgres')} "
                f"user={s.get('user', 'postgres')} application_name={self.who} connect_timeout=5")

    async def open(self) -> None:
        """Open the pool in the background: the pod starts even when the server refuses it."""
        if self._pool is not None:
            return
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        outer = self

        class Counted(psycopg.AsyncConnection):  # type: ignore[type-arg]
            """Counts refused connections, so /healthz can say why the pool is short."""

            @classmethod
            async def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    conn = await super().connect(*args, **kwargs)
                except psycopg.OperationalError as e:
                    outer.connect_errors += 1
                    outer.last_error = str(e).strip().splitlines()[0]
                    raise
                outer.connects += 1
                return conn

        self._pool = AsyncConnectionPool(
            self.conninfo(), connection_class=Counted, min_size=self.size, max_size=self.size,
            open=False, name=f"{self.who}/{self.store.get('name', 'postgres')}",
            kwargs={"autocommit": True}, reconnect_timeout=3600.0)
        await self._pool.open(wait=False)

    async def _ensure_table(self, conn: Any) -> None:
        if not self._ready:
            await conn.execute("SELECT pg_advisory_lock(4242)")  # one pod at a time creates it
            try:
                await conn.execute(DDL)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(4242)")
            self._ready = True

    async def op(self, op: str, route: str | None, hold: float, timeout: float | None) -> None:
        from psycopg_pool import PoolTimeout

        await self.open()
        wait = 0.9 * timeout if timeout else 5.0  # the pool's answer comes before the step's timeout
        try:
            async with self._pool.connection(timeout=wait) as conn:  # waits for a free one
                await self._run(conn, op, route, hold)
        except PoolTimeout:
            stats = self.stats()
            raise RuntimeError(f"no connection within {wait:g} s (pool of {self.size}, {stats['connects']} "
                               f"connected, last refusal: {self.last_error or 'none'})") from None
        self.ops += 1

    async def _run(self, conn: Any, op: str, route: str | None, hold: float) -> None:
        await self._ensure_table(conn)
        if hold > 0:
            await conn.execute("SELECT pg_sleep(%s)", (hold,))
        if op in ("write", "xadd", "publish"):
            await conn.execute(f"INSERT INTO {TABLE} (service, route) VALUES (%s, %s)", (self.who, route))
        elif op == "query":
            await (await conn.execute(
                f"SELECT service, count(*), max(at) FROM {TABLE} GROUP BY service")).fetchall()
        else:
            await (await conn.execute(
                f"SELECT id, service, at FROM {TABLE} WHERE id = %s", (self.rng.randrange(1, 1000),)
            )).fetchone()

    def stats(self) -> dict[str, Any]:
        pool = self._pool.get_stats() if self._pool is not None else {}
        return {"pool": self.size, "connects": self.connects, "available": pool.get("pool_available", 0),
                "waiting": pool.get("requests_waiting", 0), "ops": self.ops,
                "connect_errors": self.connect_errors, "last_error": self.last_error}

    async def close(self) -> None:
        if self._pool is not None:
            await asyncio.wait_for(self._pool.close(), 5)
