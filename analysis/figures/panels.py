"""Figure panels other than maps: layer curves, layer shares per region, participants and
stimuli, the mapping schematic, example vertices, training and probing curves, the demo's
claims, per-listener values of groups, and its conditions' layer curves."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.regions import N_VERTICES_PER_HEMI


def plot_layer_curve(ax, layers, mean_r, sem, null_mean_r=None, n_conv: int = 7,
                     title: str = ""):
    """Mean brain score per layer with its SEM band, the null baseline, and the
    convolutional / transformer parts marked.

    Parameters
    ----------
    layers, mean_r, sem, null_mean_r : arrays of shape (n_layers,)
    title : the panel's title
    """
    layers, mean_r, sem = map(np.asarray, (layers, mean_r, sem))
    ax.axvspan(layers[0] - 0.5, n_conv - 0.5, color="0.92", zorder=0)
    ax.text(0.02, 0.97, "convolutional", transform=ax.transAxes, va="top", fontsize=8,
            color="0.35")
    ax.text((n_conv - layers[0]) / len(layers) + 0.02, 0.97, "transformer",
            transform=ax.transAxes, va="top", fontsize=8, color="0.35")
    ax.fill_between(layers, mean_r - sem, mean_r + sem, color="C0", alpha=0.25, lw=0)
    ax.plot(layers, mean_r, "o-", color="C0", ms=4, label="brain score (mean ± SEM)")
    if null_mean_r is not None:
        ax.plot(layers, null_mean_r, "--", color="0.4", lw=1,
                label="null: regressors shifted in time")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean R over vertices")
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_title(title, fontsize=10)
    return ax


def plot_layer_shares(ax, shares, n_conv: int = 7, title: str = ""):
    """Figure 3C: for each region, the share of its vertices whose best layer is each layer.

    Parameters
    ----------
    shares : DataFrame from :func:`analysis.layers.layer_shares` (regions x layers,
        percent, and ``n_vertices``)
    title : the panel's title
    """
    layers = [c for c in shares.columns if c != "n_vertices"]
    ax.axvspan(layers[0] - 0.5, n_conv - 0.5, color="0.92", zorder=0)
    for region, row in shares.iterrows():
        ax.plot(layers, row[layers].to_numpy(dtype=float), "o-", ms=3, lw=1.2,
                label=f"{region} ({int(row['n_vertices'])} vertices)")
    ax.set_xticks(layers)
    ax.set_xlabel("best layer")
    ax.set_ylabel("% of the region's vertices")
    ax.set_ylim(0, None)
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_title(title, fontsize=10)
    return ax


LANGUAGE_NAMES = {"en": "English", "fr": "French", "cn": "Mandarin"}


def plot_participants(ax, summary, corpus=None, paper: dict | None = None, title: str = ""):
    """Figure 1A: listeners per language, hours of speech, sentences and words, as text.

    Parameters
    ----------
    summary : DataFrame of :func:`analysis.datasets.summary.summarize` (one row per language)
    corpus : Series of participants per language in the whole corpus (None: as analysed)
    paper : ``{language: n}`` of the paper, shown beside each language
    title : the panel's title, at its left
    """
    ax.axis("off")
    corpus = summary["participants"] if corpus is None else corpus
    languages = list(dict.fromkeys([*summary.index, *corpus.index]))
    y, step = 0.97, 0.105
    ax.text(0.0, y, f"n = {int(corpus.sum())}", fontsize=13, weight="bold", va="top")
    ax.text(0.0, y - 0.05, "listeners in the corpus", fontsize=8, color="0.35", va="top")
    y -= 0.13
    for language in languages:
        n_corpus = int(corpus.get(language, 0))
        n_here = int(summary["participants"].get(language, 0))
        ax.text(0.0, y, LANGUAGE_NAMES.get(language, language), fontsize=10, weight="bold",
                va="top")
        detail = f"n = {n_corpus}" + (f", {n_here} analysed" if n_here != n_corpus else "")
        if paper and language in paper:
            detail += f"\n(paper: n = {paper[language]})"
        ax.text(0.0, y - 0.038, detail, fontsize=8.5, va="top", linespacing=1.3)
        y -= step
    y -= 0.02
    hours = float(summary["hours"].sum())
    sentences = summary["sentences"]
    lines = [("Speech", f"{int(hours)} h {round(hours % 1 * 60):02d} min"
                        f" ({', '.join(summary.index)})"),
             ("Sentences", "n/a (not annotated)" if sentences.isna().all()
              else f"n = {int(sentences.sum()):,}"),
             ("Words", f"n = {int(summary['words'].sum()):,}")]
    for label, value in lines:
        ax.text(0.0, y, label, fontsize=10, weight="bold", va="top")
        ax.text(0.0, y - 0.038, value, fontsize=8.5, va="top")
        y -= 0.095
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    return ax


def plot_mapping_schematic(ax, waveform: np.ndarray, sample_rate: int, caption: str = "",
                           n_conv: int = 7, n_transformer: int = 12, title: str = ""):
    """Figure 1B: waveform -> convolutional and transformer layers -> X -> W -> Y.

    Parameters
    ----------
    waveform : array of shape (n_samples,), the first seconds of a stimulus
    caption : its first words, written under it
    n_conv, n_transformer : layers of the model drawn
    title : the panel's title, at its left
    """
    from matplotlib.patches import FancyArrowPatch, Polygon

    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    wave = np.asarray(waveform, dtype=float)
    step = max(1, -(-len(wave) // 1500))  # at most 1,500 points
    shown = wave[: len(wave) // step * step].reshape(-1, step)
    env = np.abs(shown).max(axis=1) * np.sign(shown[np.arange(len(shown)),
                                                    np.abs(shown).argmax(axis=1)])
    x = np.linspace(0.3, 4.3, len(env))
    ax.plot(x, 0.9 + 0.55 * env / (np.abs(env).max() or 1), color="0.15", lw=0.5)
    if caption:
        ax.text(2.3, 0.05, caption, ha="center", fontsize=8, style="italic")
    blocks = [(f"Convolution {1}", 0.12), ("…", 0.2), (f"Convolution {n_conv}", 0.3),
              ("Transformer 1", 0.55), ("…", 0.63), (f"Transformer {n_transformer}", 0.72)]
    for i, (label, grey) in enumerate(blocks):
        y0 = 2.1 + i * 1.05
        colour = str(grey)
        ax.add_patch(Polygon([(0.55, y0), (4.05, y0), (3.8, y0 + 0.85), (0.8, y0 + 0.85)],
                             closed=True, color=colour))
        ax.text(2.3, y0 + 0.42, label, ha="center", va="center", fontsize=8.5,
                color="white" if grey < 0.5 else "black")
    ax.text(2.3, 8.6, f"wav2vec 2.0: {n_conv} convolutional + {n_transformer} transformer\n"
            f"layers (layers 0–{n_conv - 1} and {n_conv}–{n_conv + n_transformer - 1})",
            ha="center", va="bottom", fontsize=8.5)
    ax.text(4.75, 5.2, "X", fontsize=18, style="italic", ha="center", va="center")
    ax.add_patch(FancyArrowPatch((4.1, 5.2), (4.5, 5.2), arrowstyle="-|>", mutation_scale=12,
                                 color="0.3"))
    ax.add_patch(FancyArrowPatch((5.1, 5.2), (7.4, 5.2), arrowstyle="-|>", mutation_scale=16,
                                 color="C3", lw=2))
    ax.text(6.25, 5.55, "W", fontsize=18, style="italic", color="C3", ha="center")
    ax.text(6.25, 4.6, "ridge, one per vertex,\ncross-validated in time", fontsize=7.5,
            ha="center", va="top", color="0.3")
    ax.text(7.8, 5.2, "Y", fontsize=18, style="italic", ha="center", va="center")
    ax.text(7.8, 6.0, "BOLD of each vertex\n(cortex: right)", fontsize=7.5, ha="center",
            va="bottom", color="0.3")
    ax.text(5.0, 1.2, r"$R = \mathrm{corr}(Y,\ W\,X)$ on held-out scans", fontsize=10,
            ha="left", va="center")
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    return ax


def plot_example_vertex(ax, times, observed, predicted, r: float, vertex: int,
                        window: float = 220.0, legend: bool = False):
    """Figure 1C: held-out BOLD of one vertex and its prediction over the first ``window`` s.

    Parameters
    ----------
    times, observed, predicted : arrays of shape (n_scans,)
    r : Pearson r of the whole held-out series
    vertex : fsaverage5 index (left hemisphere first)
    """
    times = np.asarray(times)
    shown = times <= times[0] + window
    ax.plot(times[shown], observed[shown], color="k", lw=1, label="$Y$ (BOLD)")
    ax.plot(times[shown], predicted[shown], color="C3", lw=1, label="$W\\,X$ (prediction)")
    hemi = "left" if vertex < N_VERTICES_PER_HEMI else "right"
    ax.set_title(f"vertex {vertex % N_VERTICES_PER_HEMI} ({hemi}): R = {r:.2f}", fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_xlim(times[shown][0], times[shown][-1])
    if legend:
        ax.legend(frameon=True, fontsize=7.5, loc="lower left")
    return ax


def plot_example_vertices(axes, example, window: float = 220.0, title: str = ""):
    """Figure 1C: :func:`plot_example_vertex` for each example vertex, one per axes, with the
    units on the first and ``title`` above it.

    Parameters
    ----------
    axes : one axes per example vertex
    example : :class:`analysis.predictions.ExamplePredictions`
    window : seconds shown from the first scan
    """
    if len(axes) != len(example.vertices):
        raise ValueError(f"axes: {len(example.vertices)} example vertices need as many axes; "
                         f"got {len(axes)}.")
    for i, ax in enumerate(axes):
        plot_example_vertex(ax, example.times, example.observed[:, i], example.predicted[:, i],
                            example.r[i], int(example.vertices[i]), window=window,
                            legend=i == 0)
    axes[0].set_ylabel("BOLD (robust-scaled)")
    if title:
        axes[0].text(0, 1.14, title, transform=axes[0].transAxes, fontsize=11)
    return axes


def plot_training_curves(axes, curves: dict, objectives: dict[str, str],
                         chance: dict[str, float] | None = None):
    """Training curves of small wav2vec 2.0 models: the self-supervised loss, the accuracy on
    the training batches, and the codebook perplexity of contrastive models; a supervised
    model's phone accuracy is dashed on the accuracy panel.

    Parameters
    ----------
    axes : three axes: loss, accuracy, perplexity
    curves : model name -> DataFrame with columns ``step, loss, contrastive_loss, accuracy,
        perplexity`` (a supervised model's ``accuracy`` is its phone accuracy)
    objectives : model name -> ``"contrastive"``, ``"units"`` (masked prediction of
        acoustic units) or ``"phones"`` (supervised)
    chance : objective -> accuracy of a guess, drawn dotted (default: contrastive 1 in 51,
        the true target among 50 distractors; units 1 in 100)
    """
    if len(axes) != 3:
        raise ValueError(f"axes: three are needed (loss, accuracy, perplexity); got {len(axes)}.")
    chance = {"contrastive": 1 / 51, "units": 1 / 100} if chance is None else chance
    for name, frame in curves.items():
        objective = objectives[name]
        if objective == "phones":
            axes[1].plot(frame.step, frame.accuracy, "--", label=f"{name} (phones)")
            continue
        label = name if objective == "contrastive" else f"{name} ({objective})"
        loss = frame.contrastive_loss if objective == "contrastive" else frame.loss
        line, = axes[0].plot(frame.step, loss, label=label)
        axes[1].plot(frame.step, frame.accuracy, color=line.get_color(), label=label)
        if objective == "contrastive":
            axes[2].plot(frame.step, frame.perplexity, color=line.get_color(), label=label)
    for objective in sorted({objectives[name] for name in curves} & set(chance)):
        axes[1].axhline(chance[objective], color="0.5", lw=0.8, ls=":")
    axes[0].set(title="self-supervised loss", xlabel="step")
    axes[1].set(title="accuracy on training batches", xlabel="step", ylim=(0, 1))
    axes[2].set(title="codebook perplexity (contrastive)", xlabel="step")
    if "contrastive" not in {objectives[name] for name in curves}:
        axes[2].set_axis_off()
        axes[2].text(0.5, 0.5, "codebook perplexity:\nno model here is trained\n"
                     "by the contrastive objective", ha="center", va="center",
                     transform=axes[2].transAxes, color="0.4")
    axes[1].legend(frameon=False, fontsize=8)
    return axes


def plot_probing(axes, probes, models: dict[str, str], metrics: dict[str, str],
                 baseline: str, n_conv: int = 7, legend_ax=None):
    """What each layer encodes: one panel per decoded target, the score of every layer of
    each model, the baseline's as a dashed line.

    Parameters
    ----------
    axes : one axes per target of ``metrics``
    probes : DataFrame with columns ``model, layer, target, score`` (the baseline: one row
        per target), as :func:`analysis.probing.probe_models` returns
    models : label (e.g. the condition) -> model name, in drawing order
    metrics : target -> name of its score (the y label)
    baseline : the baseline's name in ``probes.model``
    n_conv : convolutional layers: a line marks where the transformer starts
    legend_ax : axes given over to the legend (default: the legend sits in the first panel)
    """
    if len(axes) != len(metrics):
        raise ValueError(f"axes: one per target ({len(metrics)}) is needed; got {len(axes)}.")
    for ax, (target, metric) in zip(axes, metrics.items()):
        rows = probes[probes.target == target]
        for label, name in models.items():
            layer_rows = rows[rows.model == name]
            ax.plot(layer_rows.layer, layer_rows.score, "o-", ms=3, label=f"{label} ({name})")
        ax.axhline(rows[rows.model == baseline].score.item(), color="k", ls="--", lw=1,
                   label=f"{baseline} baseline")
        ax.set(title=target.replace("_", " "), xlabel="layer", ylabel=metric)
        ax.axvline(n_conv - 0.5, color="0.8", lw=0.8)
    if legend_ax is None:
        axes[0].legend(frameon=False, fontsize=7)
    else:
        legend_ax.axis("off")
        legend_ax.legend(*axes[0].get_legend_handles_labels(), frameon=False, fontsize=9,
                         loc="center")
    return axes


def plot_layer_similarity(ax, cka: dict[str, np.ndarray], models: dict[str, str],
                          reference: str, n_conv: int = 7, title: str = ""):
    """How far training moved each layer: linear CKA of each model's layer with the same
    layer of ``reference`` (1: the same representation up to rotation and scale).

    Parameters
    ----------
    cka : label -> array of shape (n_layers,) (:func:`analysis.similarity.layer_cka`)
    models : label -> model name, for the legend
    reference : the reference model's name (the y label says what 1 means)
    n_conv : convolutional layers: a line marks where the transformer starts
    """
    for label, values in cka.items():
        ax.plot(np.arange(len(values)), values, "o-", ms=3, label=f"{label} ({models[label]})")
    ax.axvline(n_conv - 0.5, color="0.8", lw=0.8)
    ax.set(xlabel="layer", ylabel=f"linear CKA with {reference}", ylim=(0, 1.05), title=title)
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_claims(ax, claims: list[str], differences: dict[str, list[float]],
                planted: dict[str, list[bool]], detected: dict[str, list[bool]],
                title: str = ""):
    """Each claim's mean difference across listeners in several worlds: one bar per world
    and claim, solid where the world planted the claim, hollow where it did not, a star where
    the test detected it.

    Parameters
    ----------
    claims : claim names, top to bottom
    differences, planted, detected : world name -> one value per claim
    """
    n_worlds = len(differences)
    height = 0.8 / max(n_worlds, 1)
    y = np.arange(len(claims))
    for k, (world, values) in enumerate(differences.items()):
        rows = y + (k - (n_worlds - 1) / 2) * height
        colour = f"C{k}"
        ax.barh(rows, values, height, color=[colour if p else "none" for p in planted[world]],
                edgecolor=colour, label=world)
        for row, value, hit in zip(rows, values, detected[world]):
            if hit:
                ax.text(value, row, " *" if value >= 0 else "* ", va="center",
                        ha="left" if value >= 0 else "right", fontsize=10)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_yticks(y, claims)
    ax.invert_yaxis()
    ax.set_xlabel("mean difference of brain scores across listeners (r)")
    ax.legend(frameon=False, fontsize=8, title="world (solid: planted)", title_fontsize=8)
    ax.set_title(title, fontsize=10)
    return ax


def plot_group_values(ax, values: dict[str, list[float]], detected: dict[str, bool],
                      reference: str, ylabel: str = "", title: str = ""):
    """Per-listener values of several groups side by side: one dot per listener, a bar at
    each group's mean, a star over each group whose test against ``reference`` (or, for the
    reference itself, against 0) detected an effect.

    Parameters
    ----------
    values : group name -> one value per listener, left to right
    detected : group name -> whether its test detected an effect
    reference : the group the others are tested against (drawn in grey)
    """
    jitter = np.random.default_rng(0)  # fixed, so that the figure is the same on every run
    top = max(max(v) for v in values.values())
    for k, (group, points) in enumerate(values.items()):
        colour = "0.5" if group == reference else f"C{k}"
        x = k + jitter.uniform(-0.15, 0.15, len(points))
        ax.scatter(x, points, s=14, color=colour, alpha=0.8)
        ax.hlines(np.mean(points), k - 0.3, k + 0.3, color=colour, lw=2)
        if detected[group]:
            ax.text(k, top, "*", ha="center", va="bottom", fontsize=12)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(np.arange(len(values)), list(values), rotation=20)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return ax


def plot_condition_curves(axes, curves: dict[str, dict[str, list[float]]], ylabel: str = ""):
    """Each condition's score per layer, one panel per region.

    Parameters
    ----------
    axes : one axis per region
    curves : region -> condition -> one score per layer
    """
    for ax, (region, per_condition) in zip(axes, curves.items()):
        for k, (condition, values) in enumerate(per_condition.items()):
            ax.plot(np.arange(len(values)), values, marker="o", ms=3, color=f"C{k}",
                    label=condition)
        ax.axhline(0, color="k", lw=0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(region, fontsize=10)
        ax.set_xlabel("layer")
    axes[0].set_ylabel(ylabel)
    axes[0].legend(frameon=False, fontsize=8)
    return axes
