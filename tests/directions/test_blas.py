"""Small linear algebra runs on one BLAS thread; large problems keep the default."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from semwidget.directions._blas import SMALL_FLOPS, few_blas_threads, gram_eigh_flops


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_small_problems_run_on_one_blas_thread():
    with threadpool_limits(limits=2, user_api="blas"):
        assert gram_eigh_flops(9000, 512) < SMALL_FLOPS  # SeFa on StyleGAN2-1024 weights is small
        with few_blas_threads(gram_eigh_flops(9000, 512)):
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}  # restored on exit
        with few_blas_threads(SMALL_FLOPS):
            assert _blas_threads() == {2}  # large problems keep what the caller set
