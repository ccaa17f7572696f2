import numpy as np
import pandas as pd

from analysis.figures.tables import compact, constant_columns


def test_constant_columns_move_into_the_caption():
    table = pd.DataFrame({"paper": ["0.1", "0.2"], "this run": ["0.3", "0.4"],
                          "profile": ["demo", "demo"], "participants": ["2: a, b", "2: a, b"],
                          "model": ["m1", "m2"]}, index=pd.Index(["x", "y"], name="quantity"))
    assert constant_columns(table) == ["profile", "participants"]
    styler = compact(table)
    assert list(styler.data.columns) == ["paper", "this run", "model"]
    assert styler.caption == "profile: demo; participants: 2: a, b"
    html = styler.to_html()
    assert "<caption>profile: demo; participants: 2: a, b</caption>" in html
    assert html.count("demo") == 1  # once, in the caption
    assert list(table.columns) == ["paper", "this run", "profile", "participants", "model"]


def test_a_table_of_one_row_or_without_repeats_keeps_its_columns():
    one = pd.DataFrame({"a": [1.0], "b": ["x"]})
    assert constant_columns(one) == [] and compact(one).caption is None
    varied = pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, np.nan]})
    assert constant_columns(varied) == ["b"]  # NaN in every row is one value too
    assert compact(varied).caption == "b: n/a"
    assert compact(pd.DataFrame({"p": [0.123456789] * 2, "x": [1, 2]})).caption == "p: 0.1235"
    html = compact(pd.DataFrame({"a": [1.23456, 2.0], "p": [1e-5, np.nan], "n": [3, 4]})).to_html()
    assert ">1.235<" in html and ">1e-05<" in html and ">n/a<" in html and ">3<" in html
