import json
import textwrap

import numpy as np
import pytest

from analysis.figures.interactive import TITLE_WIDTH, cortex_view_html, view_cortex
from analysis.html_assets import remote_urls


def test_the_view_embeds_the_whole_page_and_fetches_nothing():
    values = np.random.default_rng(0).uniform(-0.1, 0.3, 20484)
    values[:10] = np.nan
    page = cortex_view_html(values, title="a <test> map", threshold=0.05)
    assert remote_urls(page) == [] and "plotly" in page
    assert 'rel="icon"' not in page and "rel='icon'" not in page
    view = view_cortex(values, title="a <test> map", height=300.7)
    assert view.data.startswith('<div class="cortex-view"><iframe title="a &lt;test&gt; map"')
    assert 'height="300"' in view.data and "srcdoc=" in view.data
    assert remote_urls(view.data) == []  # the page inside srcdoc is scanned too


def test_a_long_title_is_broken_into_lines_that_fit_the_frame():
    title = "demo-english, layer 9: mean R (unthresholded: 2 participants cannot reach p < 0.05)"
    page = cortex_view_html(np.linspace(0, 0.3, 20484), title=title)
    lines = textwrap.wrap(title, TITLE_WIDTH)
    assert len(lines) == 2 and all(len(line) <= TITLE_WIDTH for line in lines)
    assert json.dumps("<br>".join(lines))[1:-1] in page  # plotly's line break, in the map's JSON


def test_values_must_be_one_finite_value_per_vertex():
    with pytest.raises(ValueError, match="20484"):
        cortex_view_html(np.zeros(10))
    with pytest.raises(ValueError, match="no finite value"):
        cortex_view_html(np.full(20484, np.nan))
