"""Train the demo's models and pack them into the repository: ``python -m analysis.demo.pack``.

Trains (or finds, in the data home) every trained model of
:data:`~analysis.demo.zoo.DEFAULT_MODELS` under the current settings (:func:`zoo.settings`:
the defaults, or ``$ANALYSIS_DEMO_TRAINING``), then packs each into
:data:`analysis.demo.shipped.WEIGHTS` (see :mod:`analysis.demo.shipped`). Commit the folder
afterwards; a build then installs the packed models instead of training them, as long as it
would train exactly the same ones. About 15 minutes per model on 2 cores.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from analysis.demo import shipped, zoo


def pack_all(names=zoo.DEFAULT_MODELS, weights: Path | None = None) -> dict[str, Path]:
    """Train (or find) then pack each trained model of ``names``: ``{name: packed folder}``.

    Raises
    ------
    ValueError
        if the packed models together exceed :data:`shipped.BUDGET_MB`.
    """
    packed = {name: shipped.pack(zoo.ensure(name), weights)
              for name in names if zoo.spec(name).objective}
    size = shipped.size_mb(weights)
    if size > shipped.BUDGET_MB:
        raise ValueError(f"the packed demo models take {size:.1f} MB in "
                         f"{weights or shipped.WEIGHTS}, over the budget of "
                         f"{shipped.BUDGET_MB:.0f} MB; pack fewer or smaller models.")
    return packed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.demo.pack",
        description="Train the demo's models under the current settings (the defaults, or "
                    "$ANALYSIS_DEMO_TRAINING), or find them in the data home, then pack their "
                    "weights (float16) for the repository to ship; commit the folder "
                    "afterwards. About 15 minutes per model trained on 2 cores.")
    parser.add_argument("--models", nargs="+", default=list(zoo.DEFAULT_MODELS),
                        choices=sorted(zoo.DEMO_MODELS), metavar="NAME",
                        help="demo models to pack (untrained ones are skipped; default: "
                             "%(default)s)")
    parser.add_argument("--weights", type=Path, default=shipped.WEIGHTS, metavar="DIR",
                        help="where to pack them (default: the package's %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        packed = pack_all(args.models, args.weights)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, folder in packed.items():
        print(f"{name}: {folder}")
    print(f"{shipped.size_mb(args.weights):.1f} MB in {args.weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
