"""pytest-benchmark suite: `pytest bench` (install with `pip install '.[bench]'`).

Each pywd kernel and its NumPy reference run on the same case in one benchmark group, so
pytest-benchmark prints each pair side by side. The project's speed targets are read from
here and judged on a bench run by bench/targets.py, never asserted in unit tests.
"""
import pytest


@pytest.fixture(params=["pywd", "reference"])
def impl(request):
    """Which side of the pair a benchmark times."""
    return request.param
