"""The stand-in service: one small asyncio server that every API and worker of
the replica runs unless the topology names a real image. Stdlib only, plus the
`redis` client when a store is Redis; it never imports the twin."""
