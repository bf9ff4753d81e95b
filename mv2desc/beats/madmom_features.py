"""madmom's multi-resolution spectral features for its downbeat networks, computed in blocks of frames.

madmom's ``RNNDownBeatProcessor`` feeds its networks, for frame sizes 1024, 2048 and 4096 samples at
44.1 kHz and 100 frames/s: the magnitude spectrogram (Hann window) through a logarithmic filterbank
(3, 6 and 12 bands per octave, 30 Hz - 17 kHz, normalised filters), ``log10(1 + x)``, and its positive
difference to the frame half a window back, all stacked (``(T, 314)``). madmom computes it one FFT per
frame in a Python loop and keeps every complex spectrum (``(T, 3584)`` complex64: 590 MB for a 207 s
song): 6.5 s of ``describe``'s 14 s there, much of it the kernel zeroing fresh pages.

Here each resolution is framed as a strided view of the padded signal (madmom's frames: centred on
sample ``i * 441``, zeros outside the signal), and a block of frames at a time is windowed, transformed
by one batched real FFT, reduced to magnitudes and filtered, so only the ``(T, bands)`` result is
kept. The arithmetic is madmom's (a float64 FFT of the float32 frame times the float64 window, the
spectrum rounded to complex64, float32 magnitudes, madmom's own filterbank and difference offset), so
the features equal madmom's to float32 rounding (tested, and the tracker's beats with them).

Written here because madmom's processors have no batched path and no other library computes these
exact features; the filterbank and the difference offset are madmom's own functions.
"""

from __future__ import annotations

import numpy as np

FRAME_SIZES = (1024, 2048, 4096)
BANDS_PER_OCTAVE = (3, 6, 12)
SAMPLE_RATE = 44100
FPS = 100
_BLOCK = 256  # frames per batched FFT: (256, 4096) float64 = 8 MB at the largest frame size


class MultiResolutionFeatures:
    """Callable like the pre-processing stage of madmom's ``RNNDownBeatProcessor``: a mono float32
    signal at 44.1 kHz ``(n,)`` -> features ``(T, 314)`` float32, ``T = ceil(n / 441)``."""

    def __init__(self) -> None:
        from mv2desc.beats.madmom_backend import import_madmom

        import_madmom()
        from madmom.audio.filters import LogarithmicFilterbank
        from madmom.audio.spectrogram import _diff_frames
        from madmom.audio.stft import fft_frequencies

        self.hop = SAMPLE_RATE // FPS
        self.windows = [np.hanning(size) for size in FRAME_SIZES]
        self.filterbanks = [
            np.asarray(LogarithmicFilterbank(fft_frequencies(size // 2, SAMPLE_RATE), num_bands=bands, fmin=30, fmax=17000,
                                             norm_filters=True, unique_filters=True))
            for size, bands in zip(FRAME_SIZES, BANDS_PER_OCTAVE)
        ]
        self.diff_frames = [_diff_frames(0.5, hop_size=float(self.hop), frame_size=size, window=np.hanning) for size in FRAME_SIZES]

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        y = np.asarray(signal, dtype=np.float32)
        if y.ndim != 1:
            raise ValueError(f"expected a mono signal (n,), got shape {y.shape}")
        n_frames = -(-y.size // self.hop)
        parts = []
        for size, window, bank, diff_frames in zip(FRAME_SIZES, self.windows, self.filterbanks, self.diff_frames):
            spec = self._filtered(y, n_frames, size, window, bank)  # (T, bands)
            np.log10(spec + np.float32(1), out=spec)
            diff = np.zeros_like(spec)
            np.maximum(spec[diff_frames:] - spec[:-diff_frames], 0, out=diff[diff_frames:])
            parts += [spec, diff]
        return np.hstack(parts)

    def _filtered(self, y: np.ndarray, n_frames: int, size: int, window: np.ndarray, bank: np.ndarray) -> np.ndarray:
        """``|STFT|`` of madmom's frames through the filterbank: ``(T, bands)`` float32."""
        half = size // 2
        # frame i covers samples [i * hop - half, i * hop + half), zeros outside the signal
        padded = np.zeros(half + max(y.size, (n_frames - 1) * self.hop + half), dtype=np.float32)
        padded[half:half + y.size] = y
        frames = np.lib.stride_tricks.sliding_window_view(padded, size)[:: self.hop][:n_frames]  # (T, size) view
        out = np.empty((n_frames, bank.shape[1]), dtype=np.float32)
        # the block's buffers are made once and reused: fresh ones each block cost more in page faults
        # (the kernel zeroing new memory) than the FFT itself
        rows = min(_BLOCK, n_frames)
        windowed = np.empty((rows, size), dtype=np.float64)
        spectrum = np.empty((rows, half + 1), dtype=np.complex128)
        rounded = np.empty((rows, half), dtype=np.complex64)
        magnitude = np.empty((rows, half), dtype=np.float32)
        for start in range(0, n_frames, rows):
            b = min(rows, n_frames - start)
            np.multiply(frames[start:start + b], window, out=windowed[:b])  # float64, as madmom's frame * window
            np.fft.rfft(windowed[:b], axis=1, out=spectrum[:b])
            rounded[:b] = spectrum[:b, :half]  # madmom keeps the spectrum as complex64
            np.abs(rounded[:b], out=magnitude[:b])
            np.dot(magnitude[:b], bank, out=out[start:start + b])
        return out
