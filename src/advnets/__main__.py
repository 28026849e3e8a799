"""``python -m advnets`` (and ``torchrun -m advnets``): the command line."""

import sys

from advnets.cli import main

sys.exit(main())
