"""Command line: ``python -m analysis <command> [options]``; ``--help`` on each command."""
from __future__ import annotations

import argparse
import logging
import sys

from analysis.config import PROFILES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Reproduce Millet et al. (2022): speech models against the brain.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every step (default: steps and warnings of note)")
    commands = parser.add_subparsers(dest="command", required=True)

    profile_help = ("world the notebooks run in: " + "; ".join(
        f"{name} = {spec.description}" for name, spec in PROFILES.items())
        + " (default: %(default)s)")
    book = commands.add_parser(
        "book", help="execute the figure notebooks and build the HTML book",
        description="Execute every notebook of _toc.yml with papermill under one profile, "
                    "then build the HTML book (warnings are errors) into _build/html.")
    book.add_argument("--profile", default="demo", choices=sorted(PROFILES), help=profile_help)
    book.add_argument("--figures", nargs="+", metavar="NAME",
                      help="only execute these notebooks (e.g. fig3); the others are reused "
                           "from an earlier run (default: all)")
    book.add_argument("--force", action="store_true",
                      help="execute notebooks even when an executed copy with the same "
                           "source, parameters and package code exists")
    book.add_argument("--no-html", dest="html", action="store_false",
                      help="execute the notebooks but do not build the HTML")

    world = commands.add_parser(
        "world", help="build (or verify) the demo world",
        description="Synthesise the demo story and simulate its listeners into the data "
                    "home ($ANALYSIS_DATA_HOME, default data/), unless already built.")
    world.add_argument("--participants", type=int, default=None,
                       help="simulated participants per language (default: the demo "
                            "profile's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("analysis").setLevel(logging.INFO)
    if args.command == "book":
        from analysis.book import BookError, build_book

        try:
            out = build_book(args.profile, args.figures, force=args.force, html=args.html)
        except (BookError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"done: {out}")
    elif args.command == "world":
        from analysis.config import check_positive_int
        from analysis.datasets import load_dataset

        try:
            if args.participants is not None:
                check_positive_int("--participants", args.participants)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        dataset = load_dataset("demo", n_participants=args.participants)
        print(f"demo world ready: {len(dataset.participants)} participants, "
              f"{sum(len(s) for s in dataset.stimuli.values())} sections")
    return 0
