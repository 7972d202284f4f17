"""The Results page's table of notebook runs says "ran" or "failed", not an emoji.

myst-nb's ``nb-exec-table`` marks each notebook with a check-mark or cross emoji, which shows as
an empty box on a machine without a colour emoji font (tests/browser_check.py fails any emoji).
This post-transform runs just after myst-nb has built the table and swaps the two for words.
"""

from __future__ import annotations

from docutils import nodes
from myst_nb.ext.execution_tables import ExecutionStatsPostTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

WORDS = {"\u2705": "ran", "\u274c": "failed"}


class ExecutionStatusWords(SphinxPostTransform):
    default_priority = ExecutionStatsPostTransform.default_priority + 1  # right after the table exists

    def run(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            for text in list(table.findall(nodes.Text)):
                if str(text) in WORDS:
                    text.parent.replace(text, nodes.Text(WORDS[str(text)]))


def setup(app):
    app.add_post_transform(ExecutionStatusWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
