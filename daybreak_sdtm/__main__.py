"""``python -m daybreak_sdtm``."""

from daybreak_sdtm.cli import run

run()
