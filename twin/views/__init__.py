"""Plain rows of the model or the live replica that the CLI and the TUI both print."""
