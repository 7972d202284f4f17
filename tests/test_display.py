"""vaelib.glue records what myst-nb's glue records; vaelib.show_table makes a real HTML table."""

from html.parser import HTMLParser

import pytest

import vaelib
from vaelib import display


def test_glue_records_the_formatted_text_under_myst_nbs_mime_type(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "_display", lambda *args, **kwargs: shown.append((args, kwargs)))
    assert vaelib.glue("test_elbo", -86.314, ".2f") is None  # a cell ending in glue prints nothing
    (bundle,), kwargs = shown[0]
    # myst-nb's glue role reads the text/plain of an output under this prefix, named by this metadata
    from myst_nb.core.variables import format_plain_text
    from myst_nb.ext.glue import GLUE_PREFIX

    assert set(bundle) == {GLUE_PREFIX + "text/plain"} and kwargs["raw"] is True
    assert kwargs["metadata"] == {"scrapbook": {"name": "test_elbo", "mime_prefix": GLUE_PREFIX}}
    # ... and shows it through format_plain_text: the page reads exactly the formatted number
    assert format_plain_text(bundle[GLUE_PREFIX + "text/plain"], "") == "-86.31"


@pytest.mark.parametrize("value, fmt, shown", [(1769, ",d", "1,769"), (0.94, ".0%", "94%"), (-3.891, ".2f", "-3.89")])
def test_glued_text_reaches_the_page_unchanged(monkeypatch, value, fmt, shown):
    from myst_nb.core.variables import format_plain_text

    bundles = []
    monkeypatch.setattr(display, "_display", lambda bundle, **kwargs: bundles.append(bundle))
    vaelib.glue("key", value, fmt)
    assert format_plain_text(next(iter(bundles[0].values())), "") == shown


def test_glue_names_must_be_identifiers():
    with pytest.raises(ValueError, match="identifiers"):
        vaelib.glue("test elbo", 1.0)


class _Cells(HTMLParser):
    """Collects the text of every <th> and <td>, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._in_cell = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        self._in_cell = tag in ("th", "td") or (self._in_cell and tag == "code")
        if tag in ("th", "td"):
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def test_table_html_keeps_every_cell_escaped_and_in_place():
    text = vaelib.table_html(["model", "ELBO"], [["`mnist` <large>", "-85.21"], ["a & b", 3]], caption="c")
    parser = _Cells()
    parser.feed(text)
    assert parser.rows == [["model", "ELBO"], ["mnist <large>", "-85.21"], ["a & b", "3"]]
    assert "<code>mnist</code>" in text and "&lt;large&gt;" in text and "<caption>c</caption>" in text


def test_table_html_refuses_a_row_of_the_wrong_length():
    with pytest.raises(ValueError, match="2 cells but the header has 3"):
        vaelib.table_html(["a", "b", "c"], [[1, 2]])
