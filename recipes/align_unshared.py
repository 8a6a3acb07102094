"""Align two encoders that never embedded the same string (see align/recipes/align_unshared.py)."""
import sys

from align.cli import main

if __name__ == "__main__":
    sys.exit(main(["recipe", "align_unshared", *sys.argv[1:]]))
