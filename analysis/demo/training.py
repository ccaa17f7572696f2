"""Training the demo's small wav2vec 2.0 models on CPU, with checkpoints, curves and resumption.

Three objectives share one architecture (:func:`small_config`):

- ``contrastive``: wav2vec 2.0 self-supervised pretraining with transformers'
  ``Wav2Vec2ForPreTraining`` (masked spans, quantised targets, ``num_negatives`` distractors,
  diversity loss), masks and negatives drawn with transformers' ``_compute_mask_indices`` and
  ``_sample_negative_indices`` as in its pretraining example;
- ``units``: HuBERT's first iteration (Hsu et al. 2021) on wav2vec 2.0's architecture: the
  same masked spans, and a linear head predicting, at each masked frame, the k-means unit of
  that frame's log-mel spectrum and its deltas (:func:`acoustic_units`, clustered on the
  model's own training audio), with cross-entropy;
- ``phones``: supervised frame-wise classification of phone labels with
  ``Wav2Vec2ForAudioFrameClassification`` (cross-entropy, frames without a label ignored).

A training run writes into one folder::

    checkpoints/step-<n>/   whole model with its training heads (save_pretrained),
                            preprocessor_config.json, state.pt (optimiser and schedule)
    curves.csv              one row every ``log_every`` steps
    config.json, model.safetensors, preprocessor_config.json   the final Wav2Vec2Model
    manifest.json           written last: the folder is complete only once it exists

Checkpoint folders are renamed into place whole, so an interrupted run resumes from its last
checkpoint; every step draws its crops, masks, negatives, dropout and Gumbel noise from seeds
derived from ``(seed, step)``, so a resumed run gives the same weights as an uninterrupted one.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from analysis import acoustics
from analysis.cache import atomic_write, file_digest
from analysis.framing import SAMPLE_RATE

log = logging.getLogger(__name__)

SELF_SUPERVISED = ("units", "contrastive")
OBJECTIVES = (*SELF_SUPERVISED, "phones")
CURVE_FIELDS = ("step", "loss", "contrastive_loss", "diversity_loss", "accuracy",
                "perplexity", "lr", "temperature", "seconds")


@dataclass(frozen=True)
class TrainingSettings:
    """Architecture, optimisation and schedule of one training run.

    Attributes
    ----------
    steps : optimisation steps (0: the random initialisation, saved as is)
    batch_size, crop_seconds : crops per step and their length
    lr, warmup, weight_decay : AdamW peak learning rate, warm-up fraction of ``steps`` (then
        linear decay to 0), weight decay
    gumbel : Gumbel-softmax temperature at the first and last step (exponential in between)
    mask_prob, mask_length : masked-span probability and span length (frames)
    num_negatives : distractors per masked frame
    n_checkpoints : checkpoints kept along training (the last one is the final model)
    log_every : steps between rows of the training curves
    threads : torch intra-op threads
    seed : seed of the initialisation and of every draw of training
    conv_dim : channels of the 7 convolutions (kernels and strides are Base's: 20 ms frames)
    hidden_size, num_layers, num_heads, intermediate_size : transformer size
    codebook : (groups, entries per group) of the quantiser
    n_units : k-means units of the ``units`` objective
    self_supervision : the objective of the self-supervised demo models, ``"units"`` or
        ``"contrastive"`` (read by :mod:`analysis.demo.zoo`)
    """

    steps: int = 600
    batch_size: int = 8
    crop_seconds: float = 2.0
    lr: float = 1e-3
    warmup: float = 0.1
    weight_decay: float = 0.01
    gumbel: tuple[float, float] = (2.0, 0.5)
    mask_prob: float = 0.5
    mask_length: int = 10
    num_negatives: int = 50
    n_checkpoints: int = 4
    log_every: int = 10
    threads: int = 1
    seed: int = 0
    conv_dim: tuple[int, ...] = (48, 64, 80, 96, 112, 128, 128)
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    codebook: tuple[int, int] = (2, 64)
    n_units: int = 100
    self_supervision: str = "units"

    def __post_init__(self):
        for name in ("batch_size", "mask_length", "num_negatives", "n_checkpoints",
                     "log_every", "threads", "hidden_size", "num_layers", "num_heads",
                     "intermediate_size", "n_units"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingSettings.{name}={value!r} must be an integer >= 1.")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"TrainingSettings.steps={self.steps!r} must be an integer >= 0.")
        if self.self_supervision not in SELF_SUPERVISED:
            raise ValueError(f"TrainingSettings.self_supervision={self.self_supervision!r} "
                             f"must be one of {', '.join(SELF_SUPERVISED)}.")
        if len(self.conv_dim) != 7:
            raise ValueError(f"TrainingSettings.conv_dim={self.conv_dim!r} must list 7 "
                             "channel counts (one per convolution).")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"TrainingSettings.hidden_size={self.hidden_size} must be a "
                             f"multiple of num_heads={self.num_heads}.")


def small_config(settings: TrainingSettings, num_labels: int = 2):
    """The wav2vec 2.0 configuration of the demo models (Base's layout, scaled down).

    Layer-normalised convolutions (no group norm), so the activations of a window do not
    depend on the rest of the batch; ``num_labels`` sizes the phone classifier's head.
    """
    from transformers import Wav2Vec2Config

    groups, entries = settings.codebook
    return Wav2Vec2Config(
        conv_dim=settings.conv_dim, feat_extract_norm="layer", conv_bias=True,
        hidden_size=settings.hidden_size, num_hidden_layers=settings.num_layers,
        num_attention_heads=settings.num_heads, intermediate_size=settings.intermediate_size,
        num_conv_pos_embeddings=64, num_conv_pos_embedding_groups=16,
        do_stable_layer_norm=True, num_codevector_groups=groups,
        num_codevectors_per_group=entries, codevector_dim=settings.hidden_size // 2,
        proj_codevector_dim=settings.hidden_size // 2, num_negatives=settings.num_negatives,
        mask_time_prob=settings.mask_prob, mask_time_length=settings.mask_length,
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
        layerdrop=0.0, final_dropout=0.0, num_labels=num_labels, diversity_loss_weight=0.1)


@dataclass
class Corpus:
    """Training audio, and (for ``phones``) a label per 20 ms model frame.

    Attributes
    ----------
    waveforms : list of arrays of shape (n_samples,), 16 kHz float32
    labels : None, or one int array per waveform of shape (n_frames,) (-100: no label),
        frame k centred at ``(k * 320 + 200) / 16000`` s
    label_names : names of the label values
    digest : identity of the audio and labels, for cache keys
    """

    waveforms: list[np.ndarray]
    labels: list[np.ndarray] | None = None
    label_names: list[str] = field(default_factory=list)
    digest: str = ""


def train(corpus: Corpus, folder: Path, settings: TrainingSettings,
          objective: str = "contrastive", key: dict | None = None) -> Path:
    """Train (or resume training) a model in ``folder``; return ``folder`` once complete.

    Parameters
    ----------
    corpus : training audio (clips shorter than ``settings.crop_seconds`` are skipped)
    folder : the run's folder (see the module docstring); a complete folder is returned as is
    objective : one of :data:`OBJECTIVES` (``"units"`` and ``"phones"`` need
        ``corpus.labels``)
    key : what the run depends on, recorded in the manifest
    """
    import torch

    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r}: choose one of {', '.join(OBJECTIVES)}.")
    folder = Path(folder)
    if is_complete(folder):
        return folder
    if objective != "contrastive" and not corpus.labels:
        raise ValueError(f"objective={objective!r} needs a corpus with frame labels "
                         "(corpus.labels; for 'units', from acoustic_units).")
    folder.mkdir(parents=True, exist_ok=True)
    crop = int(settings.crop_seconds * SAMPLE_RATE)
    usable = [i for i, w in enumerate(corpus.waveforms) if len(w) >= crop]
    if settings.steps and not usable:
        raise ValueError(f"no training clip is as long as crop_seconds="
                         f"{settings.crop_seconds}; give longer audio or shorter crops.")
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        _train(corpus, folder, settings, objective, key or {}, usable, crop)
    finally:
        torch.set_num_threads(threads)
    return folder


def _train(corpus: Corpus, folder: Path, settings: TrainingSettings, objective: str, key: dict,
           usable: list[int], crop: int) -> None:
    """The training loop of :func:`train`, from the last checkpoint to the manifest."""
    import torch

    model, optimizer, scheduler = _setup(settings, objective, len(corpus.label_names))
    step, curves = _resume(folder, model, optimizer, scheduler)
    checkpoints = checkpoint_steps(settings)
    start = time.perf_counter() - (curves[-1]["seconds"] if curves else 0.0)
    lengths = np.array([len(corpus.waveforms[i]) - crop + 1 for i in usable], dtype=float)
    model.train()
    with tqdm(total=settings.steps, initial=step, desc=f"training {folder.name}",
              leave=False) as bar:
        while step < settings.steps:
            batch, labels = _batch(corpus, usable, lengths, crop, settings, step)
            _seed_step(settings.seed, step)
            metrics = _STEPS[objective](model, batch, labels, settings, step)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update()
            if step % settings.log_every == 0 or step == settings.steps:
                curves.append({"step": step, **metrics, "lr": scheduler.get_last_lr()[0],
                               "seconds": time.perf_counter() - start})
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.2f}")
            if step in checkpoints:
                _save_checkpoint(folder, step, model, optimizer, scheduler, curves)
    _finish(folder, model, curves, settings, objective, corpus, key)


def checkpoint_steps(settings: TrainingSettings) -> list[int]:
    """Steps at which checkpoints are saved: ``n_checkpoints`` evenly spaced, the last one at
    ``settings.steps``."""
    if settings.steps == 0:
        return []
    return sorted({max(1, round(settings.steps * (i + 1) / settings.n_checkpoints))
                   for i in range(settings.n_checkpoints)})


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished run whose manifest checksums match its files."""
    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        files = json.loads(manifest.read_text())["files"]
        return all(file_digest(Path(folder) / name) == digest for name, digest in files.items())
    except (OSError, ValueError, KeyError) as exc:
        log.warning("%s is unreadable (%s); the run will be redone", manifest, exc)
        return False


def read_curves(folder: Path) -> list[dict]:
    """Rows of a run's ``curves.csv`` (numbers as floats, ``step`` as int)."""
    path = Path(folder) / "curves.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: (int(float(v)) if k == "step" else float(v)) for k, v in row.items()}
                for row in csv.DictReader(handle)]


def _setup(settings: TrainingSettings, objective: str, n_labels: int):
    import torch
    from transformers import Wav2Vec2ForAudioFrameClassification, Wav2Vec2ForPreTraining

    torch.manual_seed(settings.seed)
    initial = Wav2Vec2ForPreTraining(small_config(settings))  # every objective starts here
    if objective == "contrastive":
        model = initial
    else:
        config = small_config(settings, num_labels=max(2, n_labels))
        if objective == "phones":
            config = config.__class__(**{**config.to_dict(), "mask_time_prob": 0.05})
        model = Wav2Vec2ForAudioFrameClassification(config)
        model.wav2vec2.load_state_dict(initial.wav2vec2.state_dict())
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    other = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                   {"params": other, "weight_decay": 0.0}],
                                  lr=settings.lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, int(settings.warmup * settings.steps))
    total = max(1, settings.steps)

    def schedule(step: int) -> float:
        return step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

    return model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _seed_step(seed: int, step: int) -> None:
    """Seed the global generators that transformers' mask sampling and torch's dropout and
    Gumbel noise draw from, from ``(seed, step)``."""
    import torch

    value = int(np.random.SeedSequence([seed, step]).generate_state(1)[0])
    np.random.seed(value)
    torch.manual_seed(value)


def _batch(corpus: Corpus, usable: list[int], lengths: np.ndarray, crop: int,
           settings: TrainingSettings, step: int):
    """Random crops (each normalised to zero mean, unit variance) and their frame labels."""
    import torch

    rng = np.random.default_rng([settings.seed, step, 1])
    picks = rng.choice(len(usable), settings.batch_size, p=lengths / lengths.sum())
    hop = 320
    waves, labels = [], []
    for pick in picks:
        index = usable[pick]
        start = int(rng.integers(0, lengths[pick])) // hop * hop  # frame-aligned crops
        piece = corpus.waveforms[index][start:start + crop].astype(np.float32)
        waves.append((piece - piece.mean()) / np.sqrt(piece.var() + 1e-7))
        if corpus.labels is not None:
            frames = corpus.labels[index][start // hop:]
            labels.append(frames)
    batch = torch.from_numpy(np.stack(waves))
    if corpus.labels is None:
        return batch, None
    return batch, labels


def _masked_spans(model, batch, settings: TrainingSettings) -> np.ndarray:
    """wav2vec 2.0's masked spans of a batch (transformers' ``_compute_mask_indices``):
    boolean array of shape (batch, n_frames)."""
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

    n_frames = int(model._get_feat_extract_output_lengths(batch.shape[1]))
    return _compute_mask_indices((batch.shape[0], n_frames), settings.mask_prob,
                                 settings.mask_length, min_masks=2)


def _contrastive_step(model, batch, labels, settings: TrainingSettings, step: int) -> dict:
    import torch
    from transformers.models.wav2vec2.modeling_wav2vec2 import _sample_negative_indices

    start, end = settings.gumbel
    temperature = start * (end / start) ** (step / max(1, settings.steps - 1))
    model.set_gumbel_temperature(temperature)
    mask = _masked_spans(model, batch, settings)
    shape = mask.shape
    negatives = _sample_negative_indices(shape, settings.num_negatives, mask)
    mask_t = torch.from_numpy(mask)
    out = model(batch, mask_time_indices=mask_t,
                sampled_negative_indices=torch.from_numpy(negatives).long())
    n_masked = mask_t.sum()
    (out.loss / n_masked).backward()
    loss, contrastive, diversity = (float(x.detach() / n_masked) for x in (
        out.loss, out.contrastive_loss, out.diversity_loss))
    with torch.no_grad():
        accuracy = _contrastive_accuracy(model, out, negatives, mask_t)
    return {"loss": loss, "contrastive_loss": contrastive, "diversity_loss": diversity,
            "accuracy": accuracy, "perplexity": float(out.codevector_perplexity.detach()),
            "temperature": temperature}


def _contrastive_accuracy(model, out, negatives: np.ndarray, mask) -> float:
    """Fraction of masked frames whose true quantised target is the most similar candidate."""
    import torch

    q = out.projected_quantized_states
    b, t, d = q.shape
    neg = q.reshape(-1, d)[torch.from_numpy(negatives).long().reshape(-1)].reshape(b, t, -1, d)
    candidates = torch.cat([q[:, :, None], neg], dim=2)
    sim = torch.cosine_similarity(out.projected_states[:, :, None], candidates, dim=-1)
    sim[:, :, 1:][(neg == q[:, :, None]).all(-1)] = -float("inf")
    return float((sim.argmax(-1) == 0)[mask].float().mean())


def _frame_targets(labels: list[np.ndarray], n_frames: int):
    """Labels of a batch as a tensor of shape (batch, n_frames), -100 past a crop's labels."""
    import torch

    target = torch.full((len(labels), n_frames), -100, dtype=torch.long)
    for i, frames in enumerate(labels):
        m = min(n_frames, len(frames))
        target[i, :m] = torch.from_numpy(frames[:m].astype(np.int64))
    return target


def _classification_metrics(logits, target) -> dict:
    """Cross-entropy over the labelled frames (backpropagated) and their accuracy."""
    import torch

    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             target.reshape(-1), ignore_index=-100)
    loss.backward()
    valid = target != -100
    accuracy = float((logits.argmax(-1) == target)[valid].float().mean()) if valid.any() else 0.0
    return {"loss": float(loss.detach()), "contrastive_loss": math.nan, "diversity_loss": math.nan,
            "accuracy": accuracy, "perplexity": math.nan, "temperature": math.nan}


def _phone_step(model, batch, labels, settings: TrainingSettings, step: int) -> dict:
    logits = model(batch).logits  # (batch, n_frames, n_labels)
    return _classification_metrics(logits, _frame_targets(labels, logits.shape[1]))


def _units_step(model, batch, labels, settings: TrainingSettings, step: int) -> dict:
    """Masked prediction: the transformer sees masked spans and predicts their units."""
    import torch

    mask = torch.from_numpy(_masked_spans(model, batch, settings))
    hidden = model.wav2vec2(batch, mask_time_indices=mask).last_hidden_state
    target = _frame_targets(labels, mask.shape[1])
    target[~mask] = -100
    return _classification_metrics(model.classifier(hidden), target)


_STEPS = {"contrastive": _contrastive_step, "units": _units_step, "phones": _phone_step}


def acoustic_units(waveforms: list[np.ndarray], n_units: int, seed: int
                   ) -> tuple[list[np.ndarray], list[str]]:
    """The ``units`` objective's targets: k-means (scikit-learn) of each 20 ms model frame's
    40 log-mel bands and their deltas (librosa), standardised, fitted on ``waveforms``.

    Returns
    -------
    labels : one int array of shape (n_frames,) per waveform (``framing.n_frames``)
    names : ``unit-0`` .. ``unit-<n_units - 1>``
    """
    import librosa
    from sklearn.cluster import MiniBatchKMeans

    frames = []
    for wave in waveforms:
        mel = acoustics.model_frame_log_mel(wave)
        frames.append(np.hstack([mel, librosa.feature.delta(mel, axis=0, mode="nearest")]))
    stacked = np.vstack(frames)
    mean, scale = stacked.mean(0), stacked.std(0) + 1e-6  # standardised for the distances
    kmeans = MiniBatchKMeans(n_clusters=n_units, random_state=seed, n_init=3,
                             batch_size=4096).fit((stacked - mean) / scale)
    ends = np.cumsum([len(f) for f in frames])[:-1]
    labels = np.split(kmeans.labels_.astype(np.int64), ends)  # every frame's, from the fit
    return labels, [f"unit-{i}" for i in range(n_units)]


def _save_pretrained(model, folder: Path) -> None:
    """The model and a preprocessor config (zero-mean unit-variance input) in ``folder``."""
    from transformers import Wav2Vec2FeatureExtractor

    model.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0,
                             do_normalize=True, return_attention_mask=False
                             ).save_pretrained(folder)


def _save_checkpoint(folder: Path, step: int, model, optimizer, scheduler,
                     curves: list[dict]) -> None:
    """Write ``checkpoints/step-<n>`` whole (a temporary folder renamed into place), then the
    curves up to this step."""
    import torch

    target = folder / "checkpoints" / f"step-{step:06d}"
    tmp = folder / "checkpoints" / f".step-{step:06d}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _save_pretrained(model, tmp)
    torch.save({"step": step, "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, tmp / "state.pt")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    _write_curves(folder, curves)
    log.info("checkpoint %s", target)


def _write_curves(folder: Path, curves: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CURVE_FIELDS)
            writer.writeheader()
            writer.writerows(curves)

    atomic_write(folder / "curves.csv", write)


def _resume(folder: Path, model, optimizer, scheduler) -> tuple[int, list[dict]]:
    """Load the last checkpoint of ``folder`` into the model and optimiser, if any."""
    import torch

    done = sorted((folder / "checkpoints").glob("step-*")) if (folder / "checkpoints").is_dir() \
        else []
    if not done:
        return 0, []
    last = done[-1]
    from safetensors.torch import load_file

    state = load_file(last / "model.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "masked_spec_embed" not in m]:
        raise RuntimeError(f"{last}: checkpoint does not fit the model (missing {missing}, "
                           f"unexpected {unexpected}); delete {folder} to retrain.")
    saved = torch.load(last / "state.pt", weights_only=True)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    step = int(saved["step"])
    curves = [row for row in read_curves(folder) if row["step"] <= step]
    log.info("resuming %s from step %d", folder.name, step)
    return step, curves


def _finish(folder: Path, model, curves: list[dict], settings: TrainingSettings,
            objective: str, corpus: Corpus, key: dict) -> None:
    """Final model at the top of ``folder`` (the bare ``Wav2Vec2Model``, without the training
    heads, which the last checkpoint keeps), the curves, then the manifest, last."""
    model.eval()
    _save_pretrained(model.wav2vec2, folder)
    _write_curves(folder, curves)
    names = ["config.json", "model.safetensors", "preprocessor_config.json", "curves.csv"]
    manifest = {"key": key, "objective": objective, "settings": asdict(settings),
                "labels": corpus.label_names, "data": corpus.digest,
                "n_parameters": int(sum(p.numel() for p in model.parameters())),
                "seconds": curves[-1]["seconds"] if curves else 0.0,
                "checkpoints": [p.name for p in sorted((folder / "checkpoints").glob("step-*"))]
                if (folder / "checkpoints").is_dir() else [],
                "files": {name: file_digest(folder / name) for name in names}}
    text = json.dumps(manifest, indent=1)
    atomic_write(folder / "manifest.json", lambda tmp: tmp.write_text(text))
    log.info("trained %s in %.0f s", folder, manifest["seconds"])
