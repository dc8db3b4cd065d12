"""Show a helper's source on the page, so that the code a chapter is about is read where it runs."""

from __future__ import annotations

import inspect
from typing import Any


def show_source(obj: Any) -> Any:
    """The source of a class or function of ``aehelpers``, syntax-highlighted in Jupyter and on the site.

    A chapter whose central layer must live in the package (so that saved models load in
    safe mode) shows it with this, in place of a copy that could drift from it.
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"show_source needs a class or function defined in a Python file, got {obj!r}.") from error
    return Code(source, language="python")
