"""``python -m service.cli``: the ``formscan`` command from a source tree."""

import sys

from service.cli import main

sys.exit(main())
