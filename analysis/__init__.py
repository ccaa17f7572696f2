"""Speech models against the brain: a reproduction of Millet et al. (2022).

Stages, one module each, in data-flow order:

- :mod:`analysis.demo` builds the offline demo world (stimuli and simulated listeners);
- :mod:`analysis.datasets.download` fetches the Le Petit Prince files, verified and resumable;
  :mod:`analysis.datasets.lpp` reads them; :mod:`analysis.surface` projects runs onto
  fsaverage5;
- :mod:`analysis.models` resolves model names to loaded networks;
- :mod:`analysis.features` extracts every layer's activations;
- :mod:`analysis.regressors` turns activations into regressors at fMRI frame times;
- :mod:`analysis.ridge` solves ridge with one penalty per target (loo, kfold, gcv);
- :mod:`analysis.encoding` cross-validates encoding models: brain scores, noise ceilings;
- :mod:`analysis.stats` tests group differences (Wilcoxon, FDR, bootstrap);
- :mod:`analysis.regions` gives vertex masks of the regions of interest;
- :mod:`analysis.pipeline` chains the stages for one profile, with caching;
- :mod:`analysis.fitting` scores one participant in bounded memory (memory-mapped
  regressors); :mod:`analysis.jobs` runs every participant x model as jobs (joblib, submitit);
- :mod:`analysis.roi_summary` summarises scores per region and tests them for the figures;
  :mod:`analysis.abx` and :mod:`analysis.perceptimatic` score phone discrimination (models,
  listeners); :mod:`analysis.probing` decodes what each layer encodes; :mod:`analysis.predictions`
  gives held-out predictions of example vertices;
- :mod:`analysis.plotting`, :mod:`analysis.barplots`, :mod:`analysis.interactive` and
  :mod:`analysis.figures` draw and save figures;
- :mod:`analysis.book` executes the notebooks and builds the HTML book.
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
