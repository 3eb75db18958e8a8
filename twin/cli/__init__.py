"""`twin`: the command line. Thin: each command parses, calls the twin API, prints.

The Typer app and the console entry point are in `twin.cli.app`; the command
groups (model, sim, scenario, replica, demo, capacity, tui) are modules of their own, each
registering its commands on that app, and `twin.cli.common` holds what they
share. This package imports none of them, so a group that imports `common`
never imports the package back through the app.
"""
