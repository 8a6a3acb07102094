"""Run the paired-vs-unpaired recipe: ``python recipes/paired_vs_unpaired.py --set key=value``.

The recipe itself lives in ``align.recipes.paired_vs_unpaired`` so that the installed ``align``
command can run it too (``align recipe paired_vs_unpaired``).
"""
import sys

from align.cli import main

if __name__ == "__main__":
    sys.exit(main(["recipe", "paired_vs_unpaired", *sys.argv[1:]]))
