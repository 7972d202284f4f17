"""The environment the book's kernels start with: the same figures and speed on any machine.

The kernels that execute the chapters inherit the environment of the build, and two settings
there would change the book without a word:

- ``MPLBACKEND=Agg`` (common on headless servers and in container images): matplotlib in the
  kernel renders to no output at all and the built book has no figures. IPython's kernel picks
  the inline backend only when MPLBACKEND is unset, so the kernels get the inline backend.
- torch's OpenMP threads busy-wait by default; a build that shares its cores with anything else
  then trains several times slower (see vaelib/__init__.py). The kernels wait passively.
"""

from __future__ import annotations

import os

KERNEL_ENVIRONMENT = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "OMP_WAIT_POLICY": "PASSIVE",
}


def setup(app):
    # Before any notebook is executed: myst-nb starts its kernels while reading the sources.
    os.environ.update(KERNEL_ENVIRONMENT)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
