"""Reading input files: YAML with positions, a pydantic model, the kind's own checks.

- `files`: `load(path)` for any kind, `load_topology(path, sets)`; what commands call.
- `kinds`: the one table of file kinds (Topology, Scenario, ...), each with its model
  and checks, resolved lazily.
- `engine`: the all-problems engine; bad values are cut out or stood in for, so one
  pass reports every problem of a file.
- `reload`: `Reloader(path).load(sets)`, load_topology again under other overrides
  without reading and merging the files again (the What-if page, per keystroke).
- `editor_schema`: the JSON Schema of each kind, for editors' YAML language server.

Errors are data: each problem is a `twin.model.errors.Problem` (file, line, column,
field, message), collected rather than raised one at a time; one `ModelError`
carries them all to the CLI, which prints them sorted and exits 2. The YAML reader
that knows every value's position is `twin.model.source`.

This package imports none of its modules, so importing one loads only what it needs.
"""
