"""Speech models against the brain: a reproduction of Millet et al. (2022).

The stages, from the entry points down (a module imports only from the layers below it; the
layers contract in ``pyproject.toml`` keeps it so, and ``make test`` checks it):

=====================  ======================================================================
layer                  modules
=====================  ======================================================================
entry points           :mod:`analysis.cli` (``python -m analysis``), :mod:`analysis.book`
                       (notebooks to HTML), :mod:`analysis.jobs` (the full reproduction as jobs)
notebook support       :mod:`analysis.settings` (a notebook's parameters, checked and
                       resolved), :mod:`analysis.paper` (the paper's numbers beside this run's),
                       :mod:`analysis.figures` (saving figures; cortex maps, panels, bars,
                       interactive views)
analyses               :mod:`analysis.layers` (layer choice and profiles),
                       :mod:`analysis.group_stats` (region means, tests, FDR and contrast maps),
                       :mod:`analysis.predictions`, :mod:`analysis.probing`,
                       :mod:`analysis.abx`, :mod:`analysis.perceptimatic`;
                       :mod:`analysis.demo` (the demo world, a data source and model family)
scores                 :mod:`analysis.scores`: per-participant encoding fits, cached
designs               :mod:`analysis.designs`: audio -> activations -> regressors, cached
fits, models, data     :mod:`analysis.encoding`, :mod:`analysis.models`, :mod:`analysis.datasets`
                       (Le Petit Prince: download, reader, loader)
building blocks        :mod:`analysis.features`, :mod:`analysis.ridge`, :mod:`analysis.regressors`,
                       :mod:`analysis.stats`, :mod:`analysis.surface`, :mod:`analysis.regions`,
                       :mod:`analysis.synthesis`
foundations            :mod:`analysis.framing`, :mod:`analysis.cache`, :mod:`analysis.config`,
                       :mod:`analysis.html_assets`, :mod:`analysis.plugins`
=====================  ======================================================================

Data sources (Le Petit Prince, the demo world) and model families (the demo's own models)
plug in by name through entry points (:mod:`analysis.plugins`): the core imports neither.
"""
import logging
import os
import sys

__version__ = "0.1.0"

_log = logging.getLogger(__name__)
_log.addHandler(logging.NullHandler())
if os.environ.get("ANALYSIS_LOG_LEVEL"):  # set by the book runner for notebook kernels
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    _log.addHandler(_handler)
    _log.setLevel(os.environ["ANALYSIS_LOG_LEVEL"].upper())
