import json
import subprocess
import sys

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
