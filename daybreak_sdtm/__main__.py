"""``python -m daybreak_sdtm``."""

from daybreak_sdtm.cli import run

if __name__ == "__main__":  # not when a worker process re-imports the main module
    run()
