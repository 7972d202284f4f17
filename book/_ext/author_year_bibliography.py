"""Label the bibliography "Kingma and Welling, 2014", as the text cites it, not "[KW14]".

sphinxcontrib-bibtex writes in-text citations in author-year form (bibtex_reference_style:
author_year) but labels the reference list with pybtex's alpha labels; this registers a pybtex
style whose labels are the same author-year text. Use it with ``bibtex_default_style: authoryear``.
Names are decoded from LaTeX, so ``S{\\o}nderby`` is labelled "Sønderby", as the entry itself is.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _plain(latex: str) -> str:
    """LaTeX as the reader should see it: ``S{\\o}nderby`` -> "Sønderby", ``Sch{\\"o}lkopf`` -> "Schölkopf"."""
    return Text.from_latex(latex).render_as("text")


def _surname(person) -> str:
    return _plain(" ".join(person.prelast_names + person.last_names))


class AuthorYearLabels(BaseLabelStyle):
    """Labels such as "Kingma and Welling, 2014" and, from three authors on, "Burda et al., 2016"."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_surname(p) for p in people]
            if len(names) >= 3:
                who = f"{names[0]} et al."
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = names[0] if names else _plain(entry.fields.get("title", entry.key))
            yield f"{who}, {entry.fields['year']}" if "year" in entry.fields else who


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
