"""Showing results in a notebook: HTML tables and numbers handed to the book's prose.

Both work in any Jupyter front end (Colab, JupyterLab) and need nothing beyond IPython:

- :func:`show_table` displays rows as an HTML table, which the rendered book shows as a real
  table at every width (a printed fixed-width table wraps on a phone);
- :func:`glue` records a number under a name, the way myst-nb's ``glue`` does, so that the
  prose can insert the executed value with ``{glue:text}`name``` instead of a typed number.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

# myst-nb reads a glued value from an output with this MIME prefix and this metadata key
# (the scrapbook format that myst_nb.glue writes); see myst-nb's "glue" documentation.
GLUE_MIME_PREFIX = "application/papermill.record/"


def _display(*args, **kwargs) -> None:
    from IPython.display import display  # imported late: scripts and tests need no IPython

    display(*args, **kwargs)


def glue(name: str, value, fmt: str = "") -> None:
    """Record ``format(value, fmt)`` under ``name`` for the book's prose.

    The output is invisible in the notebook; in the book, ``{glue:text}`name``` in a Markdown
    cell of the same notebook shows the text exactly as formatted here, e.g. "1,769" or "94%".
    Example: ``glue("test_elbo", -86.314, ".2f")`` shows -86.31. Returns nothing, so that a cell
    ending in a glue call prints nothing either.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"glue names are identifiers (letters, digits, _), got {name!r}")
    # myst-nb passes the stored text through ast.literal_eval: stored as a string literal, the
    # text comes back unchanged ("1,769" would otherwise become the tuple (1, 769)).
    _display(
        {GLUE_MIME_PREFIX + "text/plain": repr(format(value, fmt))},
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_MIME_PREFIX}},
        raw=True,
    )


def _cell_html(value) -> str:
    """Escape one cell; `code` and **bold** keep their Markdown meaning."""
    text = html.escape(str(value))
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def table_html(header: Sequence, rows: Sequence[Sequence], caption: str | None = None) -> str:
    """The HTML of a table: ``header`` (columns,) and ``rows`` (rows, columns) of any values."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells but the header has {len(header)}: {list(row)}")
    head = "".join(f"<th>{_cell_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in row) + "</tr>" for row in rows)
    title = f"<caption>{_cell_html(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrapper"><table class="table">{title}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def show_table(header: Sequence, rows: Sequence[Sequence], caption: str | None = None) -> None:
    """Display rows as an HTML table (numbers already formatted as the reader should see them)."""
    from IPython.display import HTML

    _display(HTML(table_html(header, rows, caption)))
