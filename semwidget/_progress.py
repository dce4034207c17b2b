"""Progress bars for anything that can take more than a second.

tqdm's ``auto`` front end draws a widget in notebooks and text in terminals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


@contextmanager
def progress(total: int, desc: str, *, enabled: bool = True, unit: str = "img") -> Iterator[tqdm | _Silent]:
    """A progress bar over ``total`` items, or a silent stand-in."""
    if not enabled:
        yield _Silent()
        return
    bar = tqdm(total=total, desc=desc, leave=False, unit=unit)
    try:
        yield bar
    finally:
        bar.close()
