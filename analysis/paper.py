"""The paper's numbers (Millet et al. 2022, read off its figures; ``docs/paper.md``), and the
tables that put each figure's numbers beside this run's.

Each ``figN_rows`` function takes what a figure notebook computed and returns the rows of its
table, for :func:`comparison_table`, which says beside every number which model and which
people produced it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

# The paper's models (wav2vec 2.0 Base trained with fairseq, ~400k updates; none released):
# condition -> what it was trained on, how many hours, with which objective.
MODELS = {
    "random": {"data": "none (random initialisation)", "hours": "0", "objective": "none"},
    "native": {"data": "the listeners' language: English or French (CommonVoice), Mandarin "
                       "(corpus unknown)", "hours": "≈600", "objective": "contrastive"},
    "non-native": {"data": "another language than the listeners'", "hours": "≈600",
                   "objective": "contrastive"},
    "non-speech": {"data": "AudioSet clips without speech labels", "hours": "≈600",
                   "objective": "contrastive"},
    "supervised": {"data": "English speech with phone labels", "hours": "≈600",
                   "objective": "phone classification (no self-supervision)"},
}

# Listeners per language (Figure 1A; the English ones include Narratives' in the paper).
FIG1 = {"listeners": {"fr": 28, "en": 351, "cn": 33}, "all": 412, "hours": "8 h 30",
        "sentences": "≈9,200", "example_r": "0.59, 0.29, 0.66"}

# The paper's numbers (read off its figures, about ±0.002; docs/paper.md).
FIG2 = {
    "B": {"A1+A2": {"random": 0.087, "trained": 0.10}, "STG": {"random": 0.044, "trained": 0.059},
          "STS": {"random": 0.028, "trained": 0.042}, "IFG": {"random": 0.021, "trained": 0.033}},
    "C": {"untrained": 0.023, "supervised": 0.031, "self-supervised": 0.033},
    "C_p": {"untrained vs supervised": "<1e-46", "supervised vs self-supervised": "<1e-6"},
}
FIG4 = {
    "A": {"native": 0.61, "non-native": 0.56},
    "B": {"native": 0.85, "non-native": 0.84, "non-speech": 0.73, "random": 0.55},
    "C": {"A1+A2": {"native": 0.187, "non-native": 0.185, "non-speech": 0.176, "random": 0.157},
          "STS": {"native": 0.069, "non-native": 0.065, "non-speech": 0.059, "random": 0.046},
          "IFG": {"native": 0.039, "non-native": 0.037, "non-speech": 0.034, "random": 0.026},
          "motor": {"native": 0.020, "non-native": 0.019, "non-speech": 0.018,
                    "random": 0.015}},
}

FIG3 = {
    "B": {"peak_layer": 13, "peak_mean_r": 0.0265, "convolutional": (0.011, 0.018),
          "transformer": (0.018, 0.027)},
    # modal best layer of each region and its share of the region's voxels (%)
    "C": {"A1+A2": (7, 67), "STG": (13, 38), "STS": (13, 54), "IFG": (13, 34)},
}


def models_table(stand_ins: dict[str, dict[str, str]]) -> pd.DataFrame:
    """The paper's model of each condition beside this book's stand-ins.

    Parameters
    ----------
    stand_ins : column title (e.g. ``"lpp and paper"``) -> {condition -> "name: description"}

    Returns
    -------
    DataFrame indexed by condition: the paper's data, hours and objective, then one column
    per entry of ``stand_ins``
    """
    rows = {condition: {"paper: data": facts["data"], "paper: hours": facts["hours"],
                        "paper: objective": facts["objective"],
                        **{f"this book ({title})": models.get(condition, "n/a")
                           for title, models in stand_ins.items()}}
            for condition, facts in MODELS.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def fig1_rows(corpus: pd.Series, summary: pd.DataFrame, example_r) -> list[tuple]:
    """Figure 1: listeners per language (``corpus``, from
    :func:`analysis.datasets.summary.corpus_participants`), hours and sentences (``summary``,
    :func:`analysis.datasets.summary.summarize`), and the r of the example vertices."""
    minutes = round(float(summary["hours"].sum()) * 60)
    return [
        ("listeners: French", FIG1["listeners"]["fr"], corpus.get("fr")),
        ("listeners: English (with Narratives in the paper)", FIG1["listeners"]["en"],
         corpus.get("en")),
        ("listeners: Mandarin", FIG1["listeners"]["cn"], corpus.get("cn")),
        ("listeners: all", FIG1["all"], int(corpus.sum())),
        ("hours of speech", FIG1["hours"], f"{minutes // 60} h {minutes % 60:02d}"),
        ("sentences", FIG1["sentences"], summary["sentences"].sum(min_count=1)),
        ("R of the three example vertices", FIG1["example_r"],
         ", ".join(f"{r:.2f}" for r in example_r)),
    ]


def fig2_rows(bars_b: pd.DataFrame, bars_c: pd.DataFrame, tests_c: pd.DataFrame,
              models: dict[str, str], layers: dict[str, int]) -> list[dict]:
    """Figure 2: region means of the untrained and self-supervised models (B), whole-brain
    means and tests of the three objectives (C); ``models`` and ``layers`` per panel label."""
    def who(label):
        return f"{models[label]} (layer {layers[label]})"

    rows = []
    for region, values in FIG2["B"].items():
        for model in ("random", "trained"):
            label = "untrained" if model == "random" else "self-supervised"
            this = bars_b[(bars_b.region == region) & (bars_b.model == model)]["mean"].item()
            rows.append({"quantity": f"B: {region}, {model} (mean R)", "paper": values[model],
                         "this_run": this, "model": who(label)})
    for label in ("untrained", "supervised", "self-supervised"):
        rows.append({"quantity": f"C: whole brain, {label} (mean R)",
                     "paper": FIG2["C"][label],
                     "this_run": bars_c[bars_c.model == label]["mean"].item(),
                     "model": who(label)})
    for test in tests_c.itertuples():
        rows.append({"quantity": f"C: p, {test.a} vs {test.b}",
                     "paper": FIG2["C_p"][f"{test.a} vs {test.b}"],
                     "this_run": test.p, "model": f"{models[test.a]} vs {models[test.b]}"})
    return rows


def fig3_rows(best_layer: int, mean_r: np.ndarray, n_conv: int,
              shares: pd.DataFrame) -> list[tuple]:
    """Figure 3: the layer curve's peak and ranges (B, ``mean_r`` of shape (n_layers,)) and
    each region's modal best layer (C, ``shares`` from :func:`analysis.layers.layer_shares`)."""
    conv, trans = mean_r[:n_conv], mean_r[n_conv:]
    rows = [("B: layer with the highest mean R", FIG3["B"]["peak_layer"], best_layer),
            ("B: highest mean R", FIG3["B"]["peak_mean_r"], float(mean_r.max())),
            ("B: mean R, convolutional layers (range)",
             "{:.3f}-{:.3f}".format(*FIG3["B"]["convolutional"]),
             f"{conv.min():.3f}-{conv.max():.3f}")]
    if len(trans):
        rows.append(("B: mean R, transformer layers (range)",
                     "{:.3f}-{:.3f}".format(*FIG3["B"]["transformer"]),
                     f"{trans.min():.3f}-{trans.max():.3f}"))
    for region, (layer, share) in FIG3["C"].items():
        row = shares.loc[region]
        if row["n_vertices"]:
            values = row.drop("n_vertices").astype(float)
            this = f"layer {values.idxmax()} ({values.max():.0f} %)"
        else:
            this = "no vertex kept"
        rows.append((f"C: {region}, modal best layer (share)", f"layer {layer} ({share} %)",
                     this))
    return rows


def fig4_rows(human: dict | None, abx_bars: pd.DataFrame, abx_table: pd.DataFrame,
              n_contrasts: int, bars_c: pd.DataFrame, models: dict[str, str],
              layers: dict[str, int]) -> list[dict]:
    """Figure 4: human (A, None offline) and model (B) ABX accuracies, region means per
    condition (C)."""
    order = ("native", "non-native", "non-speech", "random")
    rows = []
    for k in ("native", "non-native"):
        rows.append({"quantity": f"A: humans, {k} (ABX accuracy)", "paper": FIG4["A"][k],
                     "this_run": human["mean"][k] if human else "no data offline",
                     "model": "humans (Perceptimatic)",
                     "participants": f"{human['n_listeners']} listeners" if human else "0"})
    for c in order:
        rows.append({"quantity": f"B: {c} (ABX accuracy)", "paper": FIG4["B"][c],
                     "this_run": abx_bars[abx_bars.model == c]["mean"].item(),
                     "model": ", ".join(sorted(set(abx_table.model[abx_table.condition == c]))),
                     "participants": f"{n_contrasts} contrasts"})
    for region, values in FIG4["C"].items():
        for c in order:
            this = bars_c[(bars_c.region == region) & (bars_c.model == c)]["mean"].item()
            rows.append({"quantity": f"C: {region}, {c} (mean R)", "paper": values[c],
                         "this_run": this, "model": f"{models[c]} (layer {layers[c]})"})
    return rows


def comparison_table(rows, *, profile: str, model: str | None = None,
                     participants=None) -> pd.DataFrame:
    """The paper's numbers beside this run's, with what produced them (one table per figure).

    Parameters
    ----------
    rows : iterable of ``(quantity, paper, this_run)``, or of dicts with those keys and,
        optionally, ``model`` and ``participants`` for a row produced by other models or
        people than the rest (a comparison of models, human listeners); ``paper`` is a number
        or the paper's text (e.g. ``"≈0.0265"``), ``this_run`` a number, a text, or None when
        this run cannot give it (shown as "n/a")
    profile : the profile that produced this run's numbers
    model : the model of every row that does not name its own
    participants : participant ids analysed in this run (or a text saying who), for every row
        that does not name its own

    Returns
    -------
    DataFrame indexed by ``quantity`` with columns ``paper, this run, profile, model,
    participants`` (``participants`` as "n: first ids"), numbers with 4 significant digits;
    ``.reset_index().to_dict(orient="records")`` is JSON-ready
    """
    records = []
    for row in rows:
        if not isinstance(row, dict):
            row = dict(zip(("quantity", "paper", "this_run"), row))
        missing = [k for k in ("quantity", "paper", "this_run") if k not in row]
        if missing:
            raise ValueError(f"rows: {row} lacks {missing}.")
        who = row.get("model", model)
        if who is None:
            raise ValueError(f"rows: {row['quantity']!r} names no model and no `model` was "
                             "given for the table.")
        records.append({"quantity": row["quantity"], "paper": _cell(row["paper"]),
                        "this run": _cell(row["this_run"]), "profile": profile, "model": who,
                        "participants": _people(row.get("participants", participants))})
    if not records:
        raise ValueError("rows: a comparison table needs at least one quantity.")
    return pd.DataFrame.from_records(records).set_index("quantity")


def _people(participants) -> str:
    """Who produced a number: a text as given, ids as "n: first ids"."""
    if isinstance(participants, str):
        return participants
    ids = list(participants or [])
    shown = ", ".join(ids[:4]) + (f", … ({len(ids) - 4} more)" if len(ids) > 4 else "")
    return f"{len(ids)}: {shown}" if ids else "none"


def _cell(value) -> str:
    """A table cell: numbers with 4 significant digits, None and NaN as "n/a"."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.4g}"
    return str(value)
