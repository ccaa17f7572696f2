import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis import book
from analysis.cli import main


def make_notebook(path, source):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "demo"\noutput_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_toc_lists_the_figure_notebooks():
    assert "book/intro" in book.toc_files()
    assert "fig3" in book.notebooks()


@pytest.mark.slow
def test_failing_notebook_raises_with_its_traceback(tmp_path):
    source = make_notebook(tmp_path / "bad.ipynb", "raise RuntimeError('planted failure')")
    with pytest.raises(book.BookError, match="planted failure") as info:
        book.execute_notebook(source, tmp_path / "out.ipynb", {"profile": "demo"})
    assert "bad.ipynb" in str(info.value)


@pytest.mark.slow
def test_executed_notebook_is_reused_when_nothing_changed(tmp_path):
    source = make_notebook(tmp_path / "ok.ipynb", "x = 1")
    out = tmp_path / "out.ipynb"
    assert book.execute_notebook(source, out, {"profile": "demo"}) is True
    assert book.execute_notebook(source, out, {"profile": "demo"}) is False
    assert book.execute_notebook(source, out, {"profile": "lpp"}) is True
    executed = json.loads(out.read_text())
    assert any("profile = \"lpp\"" in "".join(c["source"]) for c in executed["cells"])
    # the executed copy is laid out as a page; the notebook keeps its code visible
    tags = [c["metadata"].get("tags", []) for c in executed["cells"]]
    assert tags == [["parameters", "hide-input"], ["injected-parameters", "remove-cell"],
                    ["hide-input"]]
    assert all(not c.metadata.get("tags") or c.metadata.tags == ["parameters"]
               for c in nbformat.read(source, as_version=4).cells)


def png(width, height):
    """A blank PNG image of that size, base64-encoded as in a notebook's outputs."""
    import base64
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\0" + b"\xff" * width for _ in range(height))
    image = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                0, 0, 0))
             + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(image).decode()


def executed_copy(path):
    """A notebook as papermill leaves it: the Colab cell, prose, the parameters cell, the
    injected cell with this run's values, and code cells with outputs."""
    nb = nbformat.v4.new_notebook()
    colab = nbformat.v4.new_code_cell("import sys")
    colab.metadata["tags"] = [book.COLAB_TAG, "remove-cell"]
    params = nbformat.v4.new_code_cell('profile = "demo"  # "demo", "lpp" or "paper"')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\nprofile = "lpp"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    figure = nbformat.v4.new_code_cell("fig")
    figure.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": png(book.FIGURE_MIN_PIXELS + 100, 600), "text/plain": "<Figure>"})]
    icon = nbformat.v4.new_code_cell("icon")
    icon.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png(32, 32)})]
    table = nbformat.v4.new_code_cell("table")
    table.metadata["tags"] = ["remove-input"]
    nb.cells = [colab, nbformat.v4.new_markdown_cell("# Figure 1"), params, injected, figure,
                icon, table, nbformat.v4.new_markdown_cell("## What to look for")]
    nb.metadata["papermill"] = {"parameters": {"profile": "lpp"}}
    nbformat.write(nb, path)
    return path


def test_pages_collapse_code_and_remove_the_injected_parameters(tmp_path):
    path = executed_copy(tmp_path / "fig1.ipynb")
    assert book.present_notebook(path) is True
    cells = nbformat.read(path, as_version=4).cells
    tags = [cell.metadata.get("tags") for cell in cells]
    assert tags == [[book.COLAB_TAG, "remove-cell"], None, ["parameters", "hide-input"],
                    ["injected-parameters", "remove-cell"], ["hide-input", "full-width"],
                    ["hide-input"], ["remove-input"], None]
    # the parameters' toggle says which values the page was executed with
    assert "profile='lpp'" in cells[2].metadata["mystnb"]["code_prompt_show"]
    assert [cell.source for cell in cells] == [
        cell.source for cell in nbformat.read(executed_copy(tmp_path / "again.ipynb"),
                                              as_version=4).cells]
    # idempotent: a second pass changes nothing, not even the file
    before = path.read_bytes()
    assert book.present_notebook(path) is False
    assert path.read_bytes() == before


def test_page_layout_does_not_count_in_the_execution_digest(tmp_path, monkeypatch):
    """Changing how the pages look (this module's presentation code) must not execute the
    notebooks again; changing how the kernel runs must."""
    import inspect

    source = make_notebook(tmp_path / "nb.ipynb", "x = 1")
    digest = book._execution_digest(source, {"profile": "demo"})
    real = inspect.getsource

    def edited(function):
        text = real(function)
        return text + "# edited\n" if function is book.execute_notebook else text

    monkeypatch.setattr(inspect, "getsource", edited)
    assert book._execution_digest(source, {"profile": "demo"}) != digest
    monkeypatch.setattr(inspect, "getsource",
                        lambda f: real(f) + ("# edited\n" if f is book.present_notebook else ""))
    assert book._execution_digest(source, {"profile": "demo"}) == digest


def test_config_wires_the_page_stylesheet_and_script():
    import yaml

    config = yaml.safe_load((book.PROJECT_ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "book/_static" in config["html_static_path"]
    assert config["html_css_files"] == ["pages.css"] and config["html_js_files"] == ["pages.js"]
    static = book.PROJECT_ROOT / "book" / "_static"
    css, js = (static / "pages.css").read_text(), (static / "pages.js").read_text()
    assert "pre-wrap" in css and "max-width: 100%" in css and "tag_full-width" in css
    # offline: no remote font, import or script
    assert book.remote_urls(css, css=True) == [] and "@import" not in css
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/|import\(|fetch\(", js)


def test_staged_sources_load_mathjax_once(tmp_path):
    """MathJax is staged outside ``_static``: Jupyter Book adds every script of the static
    paths to every page when the sources have a ``_static`` folder, and MathJax (which Sphinx
    adds to pages with math, from ``mathjax_path``) would then load twice."""
    src = tmp_path / "src"
    (src / "_static" / "mathjax").mkdir(parents=True)  # left by an earlier build
    book.stage_sources(book.PROJECT_ROOT, src)
    assert not (src / "_static").exists()
    assert (src / book.MATHJAX_STATIC / "mathjax" / "tex-chtml.js").exists()
    command = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(command), "config", "sphinx", str(src)], check=True,
                   capture_output=True)
    conf = (src / "conf.py").read_text()
    assert re.search(r"^html_js_files = \['pages.js'\]$", conf, re.M)
    assert re.search(r"^html_css_files = \['pages.css'\]$", conf, re.M)
    assert "mathjax_path = 'mathjax/tex-chtml.js'" in conf


def test_cli_help_explains_each_option():
    result = subprocess.run([sys.executable, "-m", "analysis", "book", "--help"],
                            capture_output=True, text=True, check=True)
    for option in ("--profile", "--figures", "--force", "--no-html"):
        assert option in result.stdout


def test_cli_refuses_unknown_figure(capsys):
    assert main(["book", "--figures", "fig99", "--no-html"]) == 1
    assert "fig99" in capsys.readouterr().err


def test_remote_assets_are_found_and_links_are_not(tmp_path):
    (tmp_path / "page.html").write_text(
        '<script src="_static/local.js"></script>'
        '<link rel="stylesheet" href="https://cdn.example.org/theme.css">'
        '<link rel="canonical" href="https://example.org/page.html">'
        '<a href="https://doi.org/10.1000/x">paper</a>'
        '<script src="//unpkg.com/thebe"></script>')
    (tmp_path / "style.css").write_text("@font-face { src: url('https://fonts.example/f.woff') }")
    (tmp_path / "clean.html").write_text('<script src="_static/mathjax/tex-chtml.js"></script>')
    found = book.remote_assets(tmp_path)
    assert found == {"page.html": ["//unpkg.com/thebe", "https://cdn.example.org/theme.css"],
                     "style.css": ["https://fonts.example/f.woff"]}


@pytest.mark.slow
@pytest.mark.parametrize("name,value,message", [("language", "xx", "language='xx'"),
                                                 ("profile", "dmeo", "profile='dmeo'"),
                                                 ("model", "nope", "model='nope'")])
def test_fig3_refuses_a_wrong_parameter_before_computing(tmp_path, name, value, message):
    with pytest.raises(book.BookError, match=message):
        book.execute_notebook(book.notebooks()["fig3"], tmp_path / "fig3.ipynb", {name: value})


def test_remote_assets_inside_srcdoc_frames_are_found(tmp_path):
    import html

    inner = ('<html><head><script src="https://cdn.plot.ly/plotly.min.js"></script>'
             '<link rel="icon" href="https://example.org/favicon.ico"></head></html>')
    nested = f'<iframe srcdoc="{html.escape(inner, quote=True)}"></iframe>'
    (tmp_path / "page.html").write_text(
        f"<div><iframe srcdoc='{html.escape(nested, quote=True)}'></iframe></div>")
    (tmp_path / "offline.html").write_text(
        f'<iframe srcdoc="{html.escape("<script>var a = 1;</script>", quote=True)}"></iframe>')
    assert book.remote_assets(tmp_path) == {
        "page.html": ["https://cdn.plot.ly/plotly.min.js", "https://example.org/favicon.ico"]}


def colab_cell(name):
    return nbformat.read(book.notebooks()[name], as_version=4).cells[0]


@pytest.mark.parametrize("name", list(book.notebooks()))
def test_every_notebook_starts_with_the_colab_cell_of_the_configured_repository(name):
    repo = book.repository()
    cell = colab_cell(name)
    assert cell.source == book.colab_cell_source(repo["url"], repo["branch"]), (
        f"{name}: its first cell is not the Colab cell of {repo['url']}; run `python -m "
        f"analysis book --set-repository {repo['url']}`")
    assert {book.COLAB_TAG, "remove-cell"} <= set(cell.metadata["tags"])


def test_colab_cell_installs_only_on_colab(monkeypatch):
    import types

    repo = book.repository()
    source = book.colab_cell_source(repo["url"], repo["branch"])
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(source, {})
    assert calls == []  # anywhere else, nothing happens
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("ANALYSIS_DATA_HOME")
    exec(source, {})
    (command,), options = calls[0]
    assert command[1:4] == ["-m", "pip", "install"] and options["check"] is True
    assert f"git+{repo['url']}@{repo['branch']}" in command
    assert os.environ["ANALYSIS_DATA_HOME"] == "/content/data"


def test_set_repository_rewrites_every_copy(tmp_path):
    import shutil

    for name in ("_config.yml", "_toc.yml", "CITATION.cff", "README.md"):
        shutil.copy2(book.PROJECT_ROOT / name, tmp_path / name)
    shutil.copytree(book.PROJECT_ROOT / "book", tmp_path / "book")
    old = book.repository()["url"]
    fork = "https://github.com/some-lab/speech-brain-fork"
    changed = book.set_repository(fork, root=tmp_path)
    assert book.repository(tmp_path)["url"] == fork
    assert tmp_path / "_config.yml" in changed and tmp_path / "CITATION.cff" in changed
    for name, path in book.notebooks(tmp_path).items():
        first = nbformat.read(path, as_version=4).cells[0]
        assert f"git+{fork}@main" in first.source and old not in first.source
    assert old not in (tmp_path / "CITATION.cff").read_text()
    assert book.set_repository(fork, root=tmp_path) == []  # nothing left to change
    with pytest.raises(ValueError, match="github.com/ORG/REPO"):
        book.set_repository("https://gitlab.com/a/b", root=tmp_path)


def tiny_book(root, notebook_outputs):
    """A book with the project's configuration, an intro citing the paper and one notebook
    page ``book/tiny.ipynb`` (executed: its outputs are given), staged under ``root/src``."""
    import shutil

    sources = root / "sources"
    (sources / "book").mkdir(parents=True)
    shutil.copy2(book.PROJECT_ROOT / "_config.yml", sources / "_config.yml")
    shutil.copy2(book.PROJECT_ROOT / "book" / "references.bib", sources / "book")
    shutil.copytree(book.PROJECT_ROOT / "book" / "_static", sources / "book" / "_static")
    (sources / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                      "  - file: book/tiny\n")
    (sources / "book" / "intro.md").write_text(
        "# Tiny\n\nAfter {cite:t}`millet2022toward`.\n\n```{bibliography}\n```\n")
    src = root / "src"
    book.stage_sources(sources, src)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("view")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)
                    for data in notebook_outputs]
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook page"), cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, src / "book" / "tiny.ipynb")
    return src


@pytest.mark.slow
def test_built_book_is_offline_and_its_launch_buttons_open_the_page(tmp_path):
    """A real (tiny) Jupyter Book build with the project's configuration and an interactive
    cortex view: no page fetches anything remote, even inside the view's frame, and the
    Binder and Colab buttons point at the configured repository and the page's notebook."""
    import numpy as np

    from analysis.figures.interactive import view_cortex

    values = np.random.default_rng(0).uniform(0, 0.3, 20484)
    view = view_cortex(values, threshold=0.1, title="test map")
    src = tiny_book(tmp_path, [{"text/html": view.data}])
    assert book.present_notebook(src / "book" / "tiny.ipynb")
    html_dir = tmp_path / "html"
    book.build_html(src, html_dir)  # raises on a warning or a remote asset
    page = (html_dir / "book" / "tiny.html").read_text()
    assert page.count('href="../_static/pages.css') == 1 and (
        html_dir / "_static" / "pages.css").exists()
    assert page.count('src="../_static/pages.js') == 1 and (
        html_dir / "_static" / "pages.js").exists()
    assert re.search(r'<details class="[^"]*\bhide above-input"', page)  # code in a toggle
    assert "srcdoc=" in page and "plotly" in page  # the view is embedded, scripts inline
    assert book.remote_assets(html_dir) == {}
    repo = book.repository()
    org_repo = repo["url"].removeprefix("https://github.com/")
    links = set(re.findall(r'href="([^"]+)"', page))
    binder = [u for u in links if "mybinder.org" in u]
    colab = [u for u in links if "colab.research.google.com" in u]
    assert binder == [f"https://mybinder.org/v2/gh/{org_repo}/{repo['branch']}"
                      f"?urlpath=tree/book/tiny.ipynb"]
    assert colab == [f"https://colab.research.google.com/github/{org_repo}/blob/"
                     f"{repo['branch']}/book/tiny.ipynb"]
