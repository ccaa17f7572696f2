"""The offline demo world: a story spoken by espeak-ng, simulated listeners, and the demo's
own small models.

It plugs into the core as any other data source and model family would, through entry
points (``pyproject.toml``; see :mod:`analysis.plugins`): the source ``demo``
(:func:`analysis.demo.world.load`) and the model family ``demo``
(:data:`analysis.demo.zoo.PROVIDER`). The core never imports this package.
"""
