"""The stochastic rounding's random bits as the kernels use them, as raw bytes on standard
output, for statistical test batteries::

    python -m pywd.bench.rounding_stream | dieharder -a -g 200

The stream: for steps 1, 2, ...: for tensors 0, 1, 2: the 16-bit values of elements
0 .. 2^20 - 1 of the params' buffer (slot 0), in element order (csrc/lowp.h draws them;
pywd._kernels._rounding_bits gives them). Runs until the reader stops reading.
"""
import sys

from .._kernels import _rounding_bits

SEED = 0x1234567890ABCDEF
ELEMENTS = 2**20


def main():
    out = sys.stdout.buffer
    step = 1
    try:
        while True:
            for tensor in range(3):
                out.write(_rounding_bits(SEED, step, tensor, 0, 0, ELEMENTS).tobytes())
            step += 1
    except BrokenPipeError:            # the battery has read what it needs
        sys.stderr.close()


if __name__ == "__main__":
    main()
