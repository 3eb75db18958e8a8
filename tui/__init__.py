"""The Textual UI of `twin tui`: it imports twin, never the reverse (tui.runs and tui.live
stay importable without Textual)."""
