"""Grouped bar panels with confidence intervals and significance brackets (Figures 2 and 4),
and Figure 4A's human listeners."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import perceptimatic

# What Figure 4A says where no human data may be read (the demo profile runs offline).
NO_HUMAN_DATA = ("No human data offline:\nthe Perceptimatic answers\nare read under the lpp "
                 "and\npaper profiles, never invented.")


def plot_grouped_bars(ax, bars: pd.DataFrame, tests: pd.DataFrame | None = None,
                      order: list[str] | None = None, colors: dict[str, str] | None = None,
                      annotate: str = "stars", ylabel: str = "mean R", legend: bool = True,
                      title: str = ""):
    """Bars of ``mean`` per ``group`` and ``model`` with their interval, and a bracket per
    test.

    Parameters
    ----------
    bars : DataFrame with columns ``region`` (the group), ``model``, ``mean``, ``ci_low``,
        ``ci_high`` (as :func:`analysis.group_stats.summarize_regions` returns)
    tests : DataFrame with columns ``region, a, b, p, stars``: one bracket each
    order : models in drawing order (default: as they appear)
    annotate : ``"stars"`` or ``"p"`` (the p-value, e.g. ``p=3e-07``)
    title : the panel's title
    """
    if annotate not in ("stars", "p"):
        raise ValueError(f"annotate={annotate!r}; choose 'stars' or 'p'.")
    groups = list(dict.fromkeys(bars.region))
    order = order or list(dict.fromkeys(bars.model))
    colors = colors or {m: f"C{i}" for i, m in enumerate(order)}
    width = 0.8 / len(order)
    table = bars.set_index(["region", "model"])
    top = np.nanmax(np.r_[bars.ci_high.to_numpy(dtype=float), bars["mean"].to_numpy(float)])
    step = 0.07 * (top if np.isfinite(top) and top > 0 else 1.0)
    for i, model in enumerate(order):
        x = np.arange(len(groups)) + (i - (len(order) - 1) / 2) * width
        rows = table.loc[[(g, model) for g in groups]]
        mean = rows["mean"].to_numpy(float)
        err = np.abs(np.vstack([mean - rows.ci_low.to_numpy(float),
                                rows.ci_high.to_numpy(float) - mean]))
        ax.bar(x, mean, width * 0.95, color=colors[model], label=model)
        ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="none", ecolor="k", lw=0.8,
                    capsize=2)
    if tests is not None:
        for g, group in enumerate(groups):
            level = np.nanmax(table.loc[group].ci_high.to_numpy(float)) \
                if np.isfinite(table.loc[group].ci_high.to_numpy(float)).any() \
                else np.nanmax(table.loc[group]["mean"].to_numpy(float))
            for k, test in enumerate(tests[tests.region == group].itertuples()):
                xa = g + (order.index(test.a) - (len(order) - 1) / 2) * width
                xb = g + (order.index(test.b) - (len(order) - 1) / 2) * width
                y = level + step * (0.6 + 1.3 * k)
                ax.plot([xa, xa, xb, xb], [y - step * 0.25, y, y, y - step * 0.25], color="k",
                        lw=0.7)
                label = test.stars if annotate == "stars" else _p_label(test.p)
                ax.text((xa + xb) / 2, y, label, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="k", lw=0.5)
    ax.margins(y=0.25)
    lows = bars.ci_low.to_numpy(float)
    lowest = np.nanmin(lows) if np.isfinite(lows).any() else 0.0
    ax.set_ylim(bottom=min(0.0, lowest - step))  # no empty band below zero
    if legend:
        ax.legend(frameon=False, fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_human_abx(ax, human: dict | None, colors: dict[str, str] | None = None,
                   title: str = "Humans"):
    """Figure 4A: human listeners' ABX accuracy on native and non-native phones, or, where
    there are no human data (offline), a panel that says so instead of inventing them.

    Parameters
    ----------
    human : from :func:`analysis.perceptimatic.human_abx`, or None (no data)
    colors : colour of ``"native"`` and ``"non-native"``
    title : the panel's title, followed by the number of listeners
    """
    if human is None:
        ax.text(0.5, 0.5, NO_HUMAN_DATA, ha="center", va="center", fontsize=9,
                transform=ax.transAxes)
        ax.set(xticks=[], yticks=[], title=f"{title} (no data offline)")
    else:
        plot_grouped_bars(ax, *perceptimatic.as_bars(human), order=["native", "non-native"],
                          colors=colors, ylabel="ABX accuracy")
        ax.set(ylim=(0.4, None), title=f"{title} ({human['n_listeners']} listeners)")
    ax.title.set_fontsize(10)
    return ax


def _p_label(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return f"p={p:.2g}"
