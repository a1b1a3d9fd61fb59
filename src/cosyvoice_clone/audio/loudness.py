"""ITU-R BS.1770-4 loudness with numpy alone: the K-weighting and the gated integration.

The K-weighting is two biquads in series, a high shelf (the head's acoustic effect, +4 dB above
about 2 kHz) and the RLB high-pass (about 38 Hz). BS.1770-4 (Annex 1, Tables 1 and 2) publishes
their coefficients only at 48 kHz; the analog prototypes below, put through the bilinear
transform at any rate, reproduce those tables to 1e-8 at 48 kHz (tests pin it), so other rates
get the same filter rather than an approximation (the prototype values are the widely used
ones of libebur128, EBU R128 reference implementation).

The check does not run the filters sample by sample: it already has the spectrum of every
20 ms frame, so it weights each frame's power spectrum by the filters' power response
(:func:`k_power_response`) and integrates the frames (:func:`integrated_loudness`). Within
0.1 LU of ``pyloudnorm`` (the test oracle) on speech and noise at 16-48 kHz; it keeps
``scipy.signal`` (0.5-0.9 s to import) out of the ``check`` command.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

# High shelf (pre-filter): centre frequency, gain and Q of the analog prototype; the shelf's
# mid gain is Vh ** _SHELF_VB_EXP (about sqrt(Vh)).
_SHELF_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_VB_EXP = 0.4996667741545416
# RLB weighting: a second-order high-pass.
_HIGHPASS_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773
# The published 48 kHz high-pass has the numerator (1, -2, 1): a passband gain of about 1.005
# (+0.043 dB). That gain is part of the standard's filter, so it is kept at every rate;
# deriving the numerator as (1, -2, 1) at every rate (as some implementations do) would let it
# drift to +0.13 dB at 16 kHz.
_RLB_GAIN = (
    1.0
    + math.tan(math.pi * _HIGHPASS_HZ / 48000) / _HIGHPASS_Q
    + math.tan(math.pi * _HIGHPASS_HZ / 48000) ** 2
)

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S = 0.4
STEP_S = 0.1  # 75 % overlap
_TAIL_S = 0.1
_OFFSET = -0.691

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]
"""``((b0, b1, b2), (1, a1, a2))`` of one second-order section."""


def k_weighting(rate: float) -> tuple[Biquad, Biquad]:
    """The two K-weighting biquads ``(shelf, highpass)`` at ``rate`` Hz."""
    k = math.tan(math.pi * _SHELF_HZ / rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_VB_EXP
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf: Biquad = (
        (
            (vh + vb * k / _SHELF_Q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / _SHELF_Q + k * k) / a0,
        ),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _SHELF_Q + k * k) / a0),
    )
    k = math.tan(math.pi * _HIGHPASS_HZ / rate)
    a0 = _highpass_a0(k)
    g = _RLB_GAIN / a0
    highpass: Biquad = (
        (g, -2.0 * g, g),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0),
    )
    return shelf, highpass


def _highpass_a0(k: float) -> float:
    return 1.0 + k / _HIGHPASS_Q + k * k


def k_power_response(rate: float, freqs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``|H(f)|^2`` of the K-weighting (both biquads) at ``freqs`` Hz."""
    z1 = np.exp(-2j * np.pi * np.asarray(freqs, dtype=np.float64) / rate)  # z^-1 on the circle
    z2 = z1 * z1
    gain = np.ones(z1.shape)
    for (b0, b1, b2), (a0, a1, a2) in k_weighting(rate):
        h = (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
        gain *= h.real**2 + h.imag**2
    return gain


def k_weighted(x: npt.NDArray[np.floating[Any]], rate: int) -> npt.NDArray[np.float32]:
    """``x`` through both K-weighting biquads (from rest), by FFT overlap-save.

    Each block is multiplied by the filters' exact frequency response; the first
    :data:`_TAIL_S` of every block is discarded, and that is where the circular convolution
    wraps around: the filters' impulse response after that long is below 1e-9 of its start
    (the slowest pole, the 38 Hz high-pass, decays by e^-24 in 0.1 s at any rate). Equal to
    running the two biquads sample by sample, to float32 precision.
    """
    n = len(x)
    tail = max(1, round(_TAIL_S * rate))
    size = 1 << max(6 * tail, 4096).bit_length()  # FFT block: a power of two over 6 tails
    size = min(size, 1 << (n + tail).bit_length())  # a short signal needs only one block
    hop = size - tail
    blocks = -(-n // hop)
    padded = np.zeros(blocks * hop + tail)  # numpy's float32 rfft is slower than float64's
    padded[tail : tail + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)[::hop]
    spec = np.fft.rfft(frames, axis=1).astype(np.complex64)  # but float32 irfft is faster
    spec *= _block_response(rate, size)
    y = np.fft.irfft(spec, size, axis=1)[:, tail:].reshape(-1)[:n]
    return y.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=8)
def _block_response(rate: int, size: int) -> npt.NDArray[np.complex64]:
    return k_response(rate, np.fft.rfftfreq(size, 1.0 / rate)).astype(np.complex64)


def k_response(rate: float, freqs: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.complex128]:
    """The complex response ``H(f)`` of the K-weighting (both biquads) at ``freqs`` Hz."""
    z1 = np.exp(-2j * np.pi * np.asarray(freqs, dtype=np.float64) / rate)  # z^-1 on the circle
    z2 = z1 * z1
    h = np.ones(z1.shape, dtype=np.complex128)
    for (b0, b1, b2), (a0, a1, a2) in k_weighting(rate):
        h *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
    return h


def frame_power(y: npt.NDArray[np.floating[Any]], hop: int) -> npt.NDArray[np.float64]:
    """Mean square of each whole ``hop``-sample frame of ``y``."""
    n = len(y) // hop
    frames = np.asarray(y[: n * hop], dtype=np.float64).reshape(n, hop)
    power: npt.NDArray[np.float64] = np.einsum("ij,ij->i", frames, frames) / hop
    return power


def loudness(x: npt.NDArray[np.floating[Any]], rate: int, frame_s: float = 0.02) -> float | None:
    """Integrated loudness (LUFS) of a mono signal."""
    hop = max(1, round(frame_s * rate))
    if len(x) < hop:
        return None
    return integrated_loudness(frame_power(k_weighted(x, rate), hop), hop / rate)


def fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c at or above ``n`` (a quick FFT size)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p2 = p35
            while p2 < n:
                p2 *= 2
            best = min(best, p2)
            p35 *= 3
        p5 *= 5
    return best


def integrated_loudness(k_power: npt.NDArray[np.float64], frame_s: float) -> float | None:
    """Gated integrated loudness (BS.1770-4, 2.8) from K-weighted mean squares per frame.

    400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU (as in
    pyloudnorm); ``None`` when the sample is shorter than one block or entirely gated out.
    """
    block = round(BLOCK_S / frame_s)
    step = max(1, round(STEP_S / frame_s))
    if len(k_power) < block or block == 0:
        return None
    cum = np.concatenate(([0.0], np.cumsum(k_power)))
    starts = np.arange(0, len(k_power) - block + 1, step)
    z = (cum[starts + block] - cum[starts]) / block
    with np.errstate(divide="ignore"):
        blocks_lufs = _OFFSET + 10.0 * np.log10(z)
    loud = blocks_lufs >= ABSOLUTE_GATE_LUFS
    if not loud.any():
        return None
    relative = _OFFSET + 10.0 * math.log10(float(z[loud].mean())) + RELATIVE_GATE_LU
    final = z[loud & (blocks_lufs >= relative)]
    return _OFFSET + 10.0 * math.log10(float(final.mean())) if final.size else None
