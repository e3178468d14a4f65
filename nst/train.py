"""``python -m nst.train [options]``: the course's script name for ``nst train``.

The training itself is ``nst.algorithm.optimize`` (the steps) and ``nst.run`` (the run
around them); this module only keeps the old command working.
"""
import sys

from nst.entry import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
