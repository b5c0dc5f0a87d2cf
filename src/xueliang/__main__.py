"""``python -m xueliang``."""

from xueliang.cli import main

main()
