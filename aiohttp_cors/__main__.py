"""``python -m aiohttp_cors check URL --origin ORIGIN ...``: see ``aiohttp_cors._check``."""

import sys

from ._check import main

sys.exit(main())
