"""Few BLAS threads for small linear algebra.

OpenBLAS starts one thread per core and lets them spin while waiting for work. For a
Gram matrix and eigen-decomposition of a few hundred dimensions the work is a few
milliseconds, and on a machine whose cores are busy (a kernel rendering, a test run)
the spinning threads wait for each other: a 512×512 eigh measured 100× slower with the
default thread count than with one thread on a loaded two-core box. So the finders run
problems below :data:`SMALL_FLOPS` on one BLAS thread and leave larger ones alone.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

#: Below this many floating-point operations one thread is both fast enough (a few
#: tenths of a second at most; SeFa on StyleGAN2-1024 weights, 3e9, takes 70 ms) and
#: immune to the oversubscription described above, which costs far more than the
#: second core saves.
SMALL_FLOPS = 1e10

_controller: Any = None


def few_blas_threads(flops: float) -> AbstractContextManager[object]:
    """A context in which BLAS uses one thread when ``flops`` is small, else its default.

    The threadpoolctl controller is built once (it scans the loaded libraries, about a
    millisecond); limiting through it costs microseconds, so this is cheap enough to wrap
    a 100×100 eigh.
    """
    global _controller
    if flops >= SMALL_FLOPS:
        return nullcontext()
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def gram_eigh_flops(rows: int, dim: int) -> float:
    """Rough operation count of AᵀA for A (rows, dim) plus a symmetric eigen-decomposition."""
    return float(rows) * dim * dim + 10.0 * float(dim) ** 3
