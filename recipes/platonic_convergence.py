"""Run the platonic-convergence recipe: ``python recipes/platonic_convergence.py --set key=value``.

The recipe itself lives in ``align.recipes.platonic_convergence`` so that the installed ``align``
command can run it too (``align recipe platonic_convergence``).
"""
import sys

from align.cli import main

if __name__ == "__main__":
    sys.exit(main(["recipe", "platonic_convergence", *sys.argv[1:]]))
