"""``python -m nst COMMAND``: the same as the ``nst`` command."""
import sys

from nst.entry import main

sys.exit(main())
