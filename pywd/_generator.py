"""pywd.Generator: Philox4x32-10, a counter-based generator (Salmon et al. 2011).

A generator is a 64-bit key (the seed) and a position, counted in Philox blocks of four 32-bit
words. Element e of a fill made at position P comes from block P + e // E, lane e % E
(E = 4 for float32, 2 for float64), so its value depends on (seed, P, e) only: never on the
number of threads, on how the work was split, or on whether the tensor was filled whole or
shard by shard. A fill advances the generator past the blocks it used.
"""
import numbers
import os
from typing import Any

__all__ = ["Generator", "seed", "default_generator"]

_LIMIT = 1 << 64


def _check_uint64(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in [0, 2**64), got {type(value).__name__} "
                        f"{value!r}")
    number = int(value)
    if not 0 <= number < _LIMIT:
        raise ValueError(f"{name} must be an int in [0, 2**64), got {value!r}")
    return number


class Generator:
    """A Philox4x32-10 stream: ``Generator(seed, position=0)``.

    Parameters
    ----------
    seed : int
        In [0, 2**64): the Philox key.
    position : int
        The next unused Philox block (each holds four 32-bit words: four float32 or two
        float64 elements). Set it to fill the shards of one tensor separately::

            start = gen.position
            for shard, offset in shards:     # any order, any process
                pywd.init.normal_(shard, std=0.02,
                                  rng=pywd.Generator(gen.seed, position=start), offset=offset)

        gives the bytes of ``normal_(whole, std=0.02, rng=gen)``.

    NumPy equivalent: ``numpy.random.Generator(numpy.random.Philox(key=seed))`` (the same
    bit generator family, other numbers from it). torch equivalent: ``torch.Generator``.
    """

    def __init__(self, seed: int, position: int = 0) -> None:
        self._seed = _check_uint64(seed, "seed")
        self.position = position

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def position(self) -> int:
        return self._position

    @position.setter
    def position(self, value: int) -> None:
        self._position = _check_uint64(value, "position")

    def _claim(self, offset: int, count: int, per_block: int) -> int:
        """The position a fill of elements [offset, offset + count) starts from; advances the
        generator past the blocks up to offset + count."""
        start = self._position
        self._position = (start + -(-(offset + count) // per_block)) % _LIMIT
        return start

    def __repr__(self) -> str:
        return f"pywd.Generator(seed={self._seed}, position={self._position})"


_default = Generator(int.from_bytes(os.urandom(8), "little"))


def default_generator() -> Generator:
    """The generator random initialisers use when given ``rng=None``.

    NumPy equivalent: ``numpy.random.default_rng()``. torch: ``torch.default_generator``.
    """
    return _default


def seed(n: int) -> None:
    """Reseeds the default generator (``rng=None``): ``seed(n)`` then the same calls give the
    same bytes. Like ``torch.manual_seed``; without it the default is seeded from the OS.

    NumPy equivalent: ``numpy.random.seed(n)`` (for its legacy global generator)."""
    _default._seed = _check_uint64(n, "seed")
    _default.position = 0


def as_generator(rng: int | Generator | None) -> Generator:
    """``rng=`` of the initialisers: an int seed (a fresh generator at position 0), a
    Generator (used and advanced), or None (the default generator)."""
    if rng is None:
        return _default
    if isinstance(rng, Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return Generator(rng)
    raise TypeError(f"rng must be an int seed, a pywd.Generator or None, got "
                    f"{type(rng).__name__}")
