"""`python -m qa` is the `callqa` command."""

from qa.cli import main

main()
