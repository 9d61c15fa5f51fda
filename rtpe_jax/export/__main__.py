"""python -m rtpe_jax.export: `rtpe_jax.export.cli`."""

import sys

from rtpe_jax.export import cli

sys.exit(cli.main())
