"""Execute the figure notebooks with papermill and build the HTML book with Jupyter Book v1.

Steps of :func:`build_book`:

1. stage the book's sources (``_config.yml``, ``_toc.yml``, ``book/``) under
   ``<build>/src``, with MathJax copied in (under :data:`MATHJAX_STATIC`) so the HTML
   renders offline;
2. execute each notebook of ``_toc.yml`` with papermill under the chosen profile, into
   ``<build>/src/book/<name>.ipynb``; a notebook already executed with the same source,
   parameters and package code is reused. Each executed copy is then laid out as a page that
   reads like a paper (:func:`present_notebook`): code collapsed behind a toggle, papermill's
   injected cell removed; the notebooks themselves keep their code visible;
3. translate the Jupyter Book configuration to Sphinx (``jupyter-book config sphinx``) and
   build HTML into ``<build>/html`` with warnings as errors, execution off.

A failing notebook stops the build with its traceback; a Sphinx warning fails it too.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import yaml

from analysis.config import PROJECT_ROOT, build_dir, figures_dir, get_profile
from analysis.html_assets import remote_urls

log = logging.getLogger(__name__)

SOURCES = ("_config.yml", "_toc.yml", "book")
# Static folder of the staged sources holding MathJax (``_config.yml``'s html_static_path,
# whose mathjax_path points into it). Not ``_static``: when the sources have a ``_static``
# folder, ``jupyter-book config sphinx`` adds every .js under the static paths to every page,
# and MathJax would load twice (once there, once where Sphinx puts it on pages with math).
MATHJAX_STATIC = "_mathjax"


class BookError(RuntimeError):
    """A notebook failed, or Sphinx reported a warning or an error."""


def toc_files(root: Path = PROJECT_ROOT) -> list[str]:
    """Every document of ``_toc.yml``, in reading order (paths without suffix)."""
    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for key in ("root", "parts", "chapters", "sections"):
                value = node.get(key)
                if key == "root" and value:
                    yield value
                elif isinstance(value, list):
                    for child in value:
                        yield from walk(child)

    return list(dict.fromkeys(walk(yaml.safe_load((root / "_toc.yml").read_text()))))


def notebooks(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """The notebooks of the book, by name (e.g. ``"fig3"``), in reading order."""
    found = {}
    for doc in toc_files(root):
        path = root / f"{doc}.ipynb"
        if path.exists():
            found[path.stem] = path
    return found


COLAB_TAG = "colab-install"  # tag of the first cell of every notebook
_GITHUB = re.compile(r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repository(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The repository the book is published from, as configured in ``_config.yml``:
    ``{"url": "https://github.com/ORG/REPO", "branch": "main", "path_to_book": ""}``."""
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    repo = config.get("repository") or {}
    if not _GITHUB.match(str(repo.get("url", ""))):
        raise BookError(f"{root / '_config.yml'}: repository.url={repo.get('url')!r} must be "
                        "https://github.com/ORG/REPO (Binder and Colab launch from GitHub).")
    return {"url": repo["url"], "branch": str(repo.get("branch") or "main"),
            "path_to_book": str(repo.get("path_to_book") or "")}


def colab_cell_source(url: str, branch: str = "main") -> str:
    """Source of the first cell of every notebook: on Colab, install the package from the
    repository and ask for a GPU runtime; anywhere else, do nothing."""
    return f"""# On Google Colab only: install this book's package from its repository (anywhere else
# this cell does nothing). Choose a GPU runtime first: Runtime > Change runtime type > GPU.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "git+{url}@{branch}"], check=True)
    os.environ.setdefault("ANALYSIS_DATA_HOME", "/content/data")
    os.environ.setdefault("ANALYSIS_BUILD_DIR", "/content/_build")
    import torch

    if not torch.cuda.is_available():
        print("No GPU found: choose Runtime > Change runtime type > GPU, then run the notebook "
              "again (profile='demo' also runs on a CPU, slowly).")"""


def set_repository(url: str, root: Path = PROJECT_ROOT) -> list[Path]:
    """Point the book at the repository ``url`` (``https://github.com/ORG/REPO``).

    Rewrites every copy of the configured URL (``_config.yml``'s ``repository.url``, which the
    launch buttons derive from; ``CITATION.cff``; ``README.md``) and gives every notebook of
    ``_toc.yml`` its Colab cell (first cell, tagged ``colab-install`` and ``remove-cell``,
    so that the HTML does not show it), pointing at ``url``.

    Returns
    -------
    the files changed
    """
    import nbformat

    if not _GITHUB.match(url):
        raise ValueError(f"url={url!r} must be https://github.com/ORG/REPO.")
    old = repository(root)
    changed = []
    for name in ("_config.yml", "CITATION.cff", "README.md"):
        path = root / name
        text = path.read_text() if path.exists() else ""
        if old["url"] in text and old["url"] != url:
            path.write_text(re.sub(re.escape(old["url"]) + r"(?![\w.-])", url, text))
            changed.append(path)
    branch = repository(root)["branch"]
    for path in notebooks(root).values():
        notebook = nbformat.read(path, as_version=4)
        cell = nbformat.v4.new_code_cell(colab_cell_source(url, branch))
        cell.metadata["tags"] = [COLAB_TAG, "remove-cell"]
        first = notebook.cells[0] if notebook.cells else None
        if first is not None and COLAB_TAG in first.metadata.get("tags", []):
            if first.source == cell.source and first.metadata.get("tags") == cell.metadata[
                    "tags"]:
                continue
            cell.id = first.get("id", cell.id)
            notebook.cells[0] = cell
        else:
            notebook.cells.insert(0, cell)
        nbformat.write(notebook, path)
        changed.append(path)
    return changed


def stage_sources(root: Path, dest: Path) -> None:
    """Copy the book's sources and a local MathJax into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        else:
            shutil.copy2(src, dest / name)
    mathjax = resources.files("mathjax") / "static" / "mathjax" / "es5"
    stale = dest / "_static" / "mathjax"  # where earlier builds staged it
    if stale.is_dir():
        shutil.rmtree(stale)
        if not any(stale.parent.iterdir()):
            stale.parent.rmdir()
    target = dest / MATHJAX_STATIC / "mathjax"
    if not (target / "tex-chtml.js").exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(mathjax / "tex-chtml.js", target / "tex-chtml.js")
        shutil.copytree(mathjax / "output" / "chtml" / "fonts", target / "output" / "chtml" /
                        "fonts", dirs_exist_ok=True)


# How a code cell of an executed copy shows on its page (MyST-NB tags). The build adds them to
# the executed copies only (:func:`present_notebook`): the notebooks keep their code visible.
PAGE_TAGS = ("remove-cell", "remove-input", "hide-cell", "hide-input")
INJECTED_TAG = "injected-parameters"  # papermill's cell with the parameters of this run
PARAMETERS_TAG = "parameters"  # the notebook's own cell of parameters and their defaults
# A cell showing a figure at least this many pixels wide spans the text column and the margin
# (sphinx-book-theme's ``full-width`` tag; the page's table of contents folds away beside it):
# in the text column alone (about 650 px at 1280 px) a 13-inch figure's labels are too small.
FULL_WIDTH_TAG = "full-width"
FIGURE_MIN_PIXELS = 800


def _figure_width(cell) -> int:
    """Width in pixels of the widest PNG figure among a code cell's outputs (0 if none)."""
    import base64
    import binascii

    widest = 0
    for output in cell.get("outputs", []):
        png = (output.get("data") or {}).get("image/png")
        if not png:
            continue
        try:
            header = base64.b64decode("".join("".join(png).split())[:32])
        except (binascii.Error, ValueError):
            continue
        if header[:8] == b"\x89PNG\r\n\x1a\n" and len(header) >= 20:
            widest = max(widest, int.from_bytes(header[16:20], "big"))
    return widest


def _parameters_prompt(parameters: dict) -> str:
    """Label of the toggle of the parameters cell: it shows the defaults, the label the values
    this page was executed with (papermill's injected cell, which is removed from the page)."""
    ran = ", ".join(f"{key}={value!r}" for key, value in parameters.items())
    return "Show the parameters and their defaults" + (f" (this page ran with {ran})"
                                                        if ran else "")


def present_notebook(path: Path) -> bool:
    """Lay the executed copy ``path`` out as a page that reads like a paper; rewrite it only
    when that changes it (idempotent). Returns whether it changed.

    - every code cell is tagged ``hide-input``: its code is collapsed behind a toggle, its
      outputs (figures, tables) are shown; cells already tagged ``remove-cell``,
      ``remove-input``, ``hide-cell`` or ``hide-input`` are left as their notebook says;
    - papermill's injected cell (tag ``injected-parameters``) is tagged ``remove-cell``;
    - the ``parameters`` cell stays behind a toggle (``hide-input``) labelled with the values
      the page was executed with: its defaults and their comments say what a reader can
      change when running the notebook;
    - a cell whose output is a figure at least ``FIGURE_MIN_PIXELS`` wide is tagged
      ``full-width``: the figure spans the text column and the margin.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    ran = (notebook.metadata.get("papermill") or {}).get("parameters") or {}
    changed = False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if INJECTED_TAG in tags:
            wanted = ["remove-cell"]
        elif any(tag in tags for tag in PAGE_TAGS):
            wanted = []
        else:
            wanted = ["hide-input"]
        if ("remove-cell" not in tags + wanted
                and _figure_width(cell) >= FIGURE_MIN_PIXELS):
            wanted.append(FULL_WIDTH_TAG)
        missing = [tag for tag in wanted if tag not in tags]
        if missing:
            cell.metadata["tags"] = tags + missing
            changed = True
        if PARAMETERS_TAG in tags and not {INJECTED_TAG, "remove-cell", "remove-input"} & set(
                tags):
            prompts = {"code_prompt_show": _parameters_prompt(ran),
                       "code_prompt_hide": "Hide the parameters"}
            settings = cell.metadata.setdefault("mystnb", {})
            if any(settings.get(key) != value for key, value in prompts.items()):
                settings.update(prompts)
                changed = True
    if changed:
        nbformat.write(notebook, path)
    return changed


def _execution_digest(notebook: Path, parameters: dict) -> str:
    """Hash of what an executed notebook depends on: its source, parameters, package code and
    how its kernel is run. Of this module, only the functions that run the kernel count: how
    the pages look (:func:`present_notebook`, the HTML build) is applied again to reused
    copies, so that changing it does not execute the notebooks again."""
    sha = hashlib.sha256(notebook.read_bytes())
    sha.update(json.dumps(parameters, sort_keys=True).encode())
    this = Path(__file__).resolve()
    for path in sorted((PROJECT_ROOT / "analysis").rglob("*.py")):
        if path.resolve() != this:
            sha.update(path.read_bytes())
    for function in (_kernel_environment, execute_notebook):
        sha.update(inspect.getsource(function).encode())
    sha.update((PROJECT_ROOT / "requirements.lock").read_bytes())
    return sha.hexdigest()


def _still_valid(stamp: Path, output: Path, digest: str) -> bool:
    """Whether an executed copy exists for this digest and every file it wrote is still there."""
    try:
        record = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return (output.exists() and record.get("digest") == digest
            and all(Path(p).exists() for p in record.get("outputs", [])))


def _kernel_environment() -> dict[str, str]:
    """Environment of the notebook kernels: the package logs its steps to stderr, which
    papermill relays, and progress bars refresh rarely enough to stay readable in a log."""
    return {"ANALYSIS_LOG_LEVEL": os.environ.get("ANALYSIS_LOG_LEVEL", "INFO"),
            "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "15")}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute_notebook(source: Path, output: Path, parameters: dict, force: bool = False) -> bool:
    """Run ``source`` with papermill into ``output``; return False when a valid copy existed.

    Raises
    ------
    BookError
        naming the notebook and carrying the failing cell's traceback.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stamp = output.with_suffix(".stamp")
    digest = _execution_digest(source, parameters)
    if not force and _still_valid(stamp, output, digest):
        log.info("%s: reusing the executed copy %s", source.name, output)
        present_notebook(output)
        return False
    stamp.unlink(missing_ok=True)
    log.info("%s: executing with %s", source.name, parameters)
    started = time.time()
    saved_env = {k: os.environ.get(k) for k in _kernel_environment()}
    os.environ.update(_kernel_environment())
    try:
        papermill.execute_notebook(str(source), str(output), parameters=parameters,
                                   cwd=str(source.parent), kernel_name="python3",
                                   progress_bar=sys.stderr.isatty(), stdout_file=sys.stdout,
                                   stderr_file=sys.stderr)
    except PapermillExecutionError as error:
        traceback = "\n".join(error.traceback)
        if not sys.stderr.isatty():
            traceback = _ANSI.sub("", traceback)
        raise BookError(f"notebook {source} failed in cell {error.exec_count} "
                        f"({error.ename}: {error.evalue}); the executed copy with every output "
                        f"is {output}.\n{traceback}") from None
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    present_notebook(output)
    folder = Path(parameters.get("output_dir") or figures_dir())
    written = [str(p) for p in folder.glob("*") if p.is_file() and p.stat().st_mtime >= started]
    stamp.write_text(json.dumps({"digest": digest, "outputs": sorted(written)}))
    log.info("%s: executed in %.0f s", source.name, time.time() - started)
    return True


# URLs that a browser would fetch on its own: src/href of script, link, img, iframe, source,
# video, audio, embed, object(data), and url(...) in CSS.
def remote_assets(html_dir: Path) -> dict[str, list[str]]:
    """Scripts, stylesheets, fonts, images and frames that built pages would fetch from the
    network (see :func:`remote_urls`; documents inlined in ``srcdoc`` frames are scanned too).

    Returns ``{page: [url, ...]}`` for the offending ``.html``, ``.css`` and ``.js`` files
    under ``html_dir``, empty when the book renders offline.
    """
    found: dict[str, list[str]] = {}
    for page in sorted(html_dir.rglob("*")):
        if page.suffix not in (".html", ".css", ".js") or not page.is_file():
            continue
        urls = remote_urls(page.read_text(errors="replace"), css=page.suffix != ".html")
        if urls:
            found[str(page.relative_to(html_dir))] = urls
    return found


def build_html(src: Path, html: Path) -> None:
    """Build HTML from the staged sources with Sphinx, via Jupyter Book's configuration."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = str(jupyter_book) if jupyter_book.exists() else shutil.which("jupyter-book")
    if command is None:
        raise BookError("jupyter-book is not installed in this environment: run `make book`, "
                        "or `pip install -e .` first.")
    configured = subprocess.run([command, "config", "sphinx", str(src)], capture_output=True,
                                text=True)
    if configured.returncode != 0:
        raise BookError(f"`jupyter-book config sphinx` failed on {src}/_config.yml:\n"
                        f"{configured.stdout}{configured.stderr}")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
                             "-q", "-d", str(html.parent / ".doctrees"), str(src), str(html)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BookError(f"the HTML build failed (warnings count as errors):\n{result.stderr}")
    remote = remote_assets(html)
    if remote:
        listing = "\n".join(f"  {page}: {', '.join(urls)}" for page, urls in remote.items())
        raise BookError(f"built pages fetch assets from the network, so the book would not "
                        f"render offline:\n{listing}")


def build_book(profile: str = "demo", figures: list[str] | None = None, force: bool = False,
               html: bool = True) -> Path:
    """Execute the book's notebooks under ``profile`` and build the HTML.

    Parameters
    ----------
    profile : ``"demo"``, ``"lpp"`` or ``"paper"``
    figures : notebook names to execute (default: all of ``_toc.yml``); the others are
        reused from an earlier run when present
    force : execute even when a valid executed copy exists
    html : build the HTML after executing

    Returns
    -------
    the HTML folder (or the staged source folder when ``html`` is False)
    """
    get_profile(profile)
    available = notebooks()
    unknown = sorted(set(figures or []) - set(available))
    if unknown:
        raise ValueError(f"figures={unknown} are not notebooks of _toc.yml; choose among "
                         f"{', '.join(available)}.")
    out = build_dir()
    src = out / "src"
    stage_sources(PROJECT_ROOT, src)
    parameters = {"profile": profile}  # figures go to figures_dir(), in the kernel's env too
    for name, path in available.items():
        target = src / "book" / f"{name}.ipynb"
        if figures and name not in figures:
            if not target.exists():
                raise BookError(f"{name} was not asked for and has never been executed; "
                                f"add it to --figures.")
            present_notebook(target)
            continue
        execute_notebook(path, target, parameters, force=force)
    if not html:
        return src
    build_html(src, out / "html")
    log.info("book built: %s", out / "html" / "index.html")
    return out / "html"
