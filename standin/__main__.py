"""`python -m standin [--config FILE] [--host H] [--port P]`."""

from standin.server import main

main()
