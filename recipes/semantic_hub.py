"""Run the semantic-hub recipe: ``python recipes/semantic_hub.py --set key=value``.

The recipe itself lives in ``align.recipes.semantic_hub`` so that the installed ``align`` command can
run it too (``align recipe semantic_hub``).
"""
import sys

from align.cli import main

if __name__ == "__main__":
    sys.exit(main(["recipe", "semantic_hub", *sys.argv[1:]]))
