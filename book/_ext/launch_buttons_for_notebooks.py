"""Keep the "launch" (Colab) button on pages made from .ipynb chapters only.

sphinx-book-theme adds it to every executed page, MyST Markdown pages such as the Results page
included; Colab cannot open those (their source is .md), so the button would lead nowhere.
"""

from __future__ import annotations

from pathlib import Path


def drop_launch_buttons_from_markdown_pages(app, pagename, templatename, context, doctree) -> None:
    if Path(app.env.doc2path(pagename)).suffix == ".ipynb":
        return
    buttons = context.get("header_buttons")
    if buttons:
        buttons[:] = [b for b in buttons if b.get("label") != "launch-buttons"]


def setup(app):
    # Runs after the theme has added its buttons (priority 501) and before the page is rendered.
    app.connect("html-page-context", drop_launch_buttons_from_markdown_pages, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
