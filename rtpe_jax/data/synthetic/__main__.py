"""python -m rtpe_jax.data.synthetic: `rtpe_jax.data.synthetic.cli`."""

from rtpe_jax.data.synthetic import cli

cli.main()
