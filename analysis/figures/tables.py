"""Tables as the pages show them: a column whose value is the same in every row (the profile
of a comparison table, the participants of a figure that analysed one group) says it once, in
the table's caption, instead of once per row."""
from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler


def constant_columns(table: pd.DataFrame) -> list[str]:
    """Columns of ``table`` holding one value in every row (none for a table of one row: its
    columns are its content)."""
    if len(table) < 2:
        return []
    return [column for column in table.columns if table[column].nunique(dropna=False) == 1]


def compact(table: pd.DataFrame, digits: int = 4) -> Styler:
    """``table`` for a page: its constant columns moved into a caption line.

    Parameters
    ----------
    table : DataFrame, e.g. from :func:`analysis.paper.comparison_table`; left unchanged (a
        figure's JSON keeps every column)
    digits : significant digits shown of float cells (a p-value of 1e-05 stays readable);
        NaN shows as "n/a"

    Returns
    -------
    Styler of the other columns, captioned ``"column: value; ..."`` when any was constant
    """
    constant = constant_columns(table)
    shown = table.drop(columns=constant)
    floats = [column for column in shown.columns if pd.api.types.is_float_dtype(shown[column])]
    styler = shown.style.format(f"{{:.{digits}g}}", subset=floats, na_rep="n/a")
    if constant:
        styler = styler.set_caption("; ".join(
            f"{column}: {_cell(table[column].iloc[0], digits)}" for column in constant))
    return styler


def _cell(value, digits: int) -> str:
    """A caption's value as the table would show it: floats to ``digits`` significant
    digits, NaN as "n/a"."""
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.{digits}g}"
    return str(value)
