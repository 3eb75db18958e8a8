"""The stand-in service: one small asyncio server that every API and worker of
the replica runs unless the topology names a real image. Stdlib plus the real
clients of the stores it talks to (redis, psycopg 3 with its pool, aio-pika);
it never imports the twin."""
