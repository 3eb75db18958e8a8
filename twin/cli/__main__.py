"""`python -m twin.cli`, the same as the `twin` command."""

from twin.cli.app import main

main()
