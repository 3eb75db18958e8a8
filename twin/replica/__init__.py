"""The real local replica: kind by subprocess, the cluster through the official
`kubernetes` client, and real-process drills. Nothing here is imported by the
simulator; heavy imports stay inside functions."""
