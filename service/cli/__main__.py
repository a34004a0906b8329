"""``python -m service.cli``."""

from service.cli.app import main

main()
