"""Audio decoding and encoding with PyAV: the product's one audio decoder and one audio encoder.

PyAV bundles its own FFmpeg, so every format FFmpeg reads works (MP3, AAC in MP4, OGG, WAV, FLAC, a
video's soundtrack) without system packages, and the decode of a truncated MP3 stops at the last good
frame instead of failing the whole file.

**Downmix** (documented, used everywhere): mono is the *equal-weight mean* of the channels, as
``librosa.to_mono`` does. FFmpeg's own stereo-to-mono matrix weighs each channel by 0.707 (3 dB
louder than the mean) and is never used, so a file decodes to the same samples whichever command
reads it. Stereo (for muxing) keeps a stereo file as it is, duplicates a mono one, and takes FFmpeg's
standard downmix for more than two channels.

**Level normalisation** (:func:`normalize_level`) is applied before beat tracking only (features
keep the measured level: loudness is one of them).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soxr

from mv2desc.errors import MediaError
from mv2desc.media.files import check_file, open_input

BEAT_LEVEL_DBFS = -20.0  # RMS level the beat trackers see (gain capped so that the peak stays <= 1)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    channels: int | None = 1,
    offset_s: float = 0.0,
    max_duration_s: float | None = None,
) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 in [-1, 1].

    ``channels=1`` (default) -> ``(n,)``, the mean of the file's channels; ``channels=2`` ->
    ``(2, n)``; ``channels=None`` -> ``(C, n)`` as stored. ``sample_rate=None`` keeps the file's rate
    (returned). Raises :class:`MediaError`: ``missing_audio``, ``empty_audio``, ``corrupt_audio``,
    ``no_audio_stream``.
    """
    if channels not in (None, 1, 2):
        raise ValueError(f"channels must be 1, 2 or None, got {channels}")
    p = check_file(path, "audio")
    chunks: list[np.ndarray] = []
    try:
        with open_input(p, "audio") as container:
            if not container.streams.audio:
                raise MediaError("no_audio_stream", f"no audio stream in {p}")
            stream = container.streams.audio[0]
            native_sr = int(stream.codec_context.sample_rate or stream.rate or 0)
            if native_sr <= 0:
                raise MediaError("corrupt_audio", f"unknown sample rate in {p}")
            n_native = int(stream.codec_context.channels or 1)
            if n_native <= 2 or channels == 2:  # more than 2 -> stereo: FFmpeg's standard downmix
                layout = "mono" if n_native == 1 else "stereo"
            else:
                layout = stream.codec_context.layout.name
            start = int(round(offset_s * native_sr))
            stop = None if max_duration_s is None else start + int(round(max_duration_s * native_sr))
            # No container.seek(): MP3/AAC priming makes seeked timestamps drift by tens of ms; decoding
            # the prefix costs little for audio and keeps sample positions exact.
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=native_sr)
            got = 0
            try:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        arr = out.to_ndarray()  # (C, n) planar
                        chunks.append(arr)
                        got += arr.shape[1]
                    if stop is not None and got >= stop:
                        break
            except av.error.InvalidDataError:
                pass  # truncated or damaged stream: keep what decoded cleanly before the damage
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError("corrupt_audio", f"cannot decode {p}: {exc}") from exc
    if not chunks:
        raise MediaError("corrupt_audio", f"no decodable audio frames in {p}")
    y = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)  # (C, n)
    y = y[:, int(round(offset_s * native_sr)) :]
    if max_duration_s is not None:
        y = y[:, : int(round(max_duration_s * native_sr))]
    if y.shape[1] == 0:
        raise MediaError("corrupt_audio", f"no audio samples in {p}")
    if not np.isfinite(y).all():
        raise MediaError("corrupt_audio", f"non-finite samples in {p}")
    if channels == 1:
        y = to_mono(y)
    elif channels == 2 and y.shape[0] == 1:
        y = np.repeat(y, 2, axis=0)
    if sample_rate is not None and sample_rate != native_sr:
        return resample(y, native_sr, sample_rate), sample_rate
    return y, native_sr


def to_mono(y: np.ndarray) -> np.ndarray:
    """``(C, n)`` -> ``(n,)``: the equal-weight mean of the channels; ``(n,)`` is returned as is."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    return y[0].copy() if y.shape[0] == 1 else y.mean(axis=0, dtype=np.float64).astype(np.float32)


def normalize_level(y: np.ndarray, target_dbfs: float = BEAT_LEVEL_DBFS) -> np.ndarray:
    """Scale ``y`` to an RMS of ``target_dbfs`` (gain capped so that the peak stays <= 1).

    Beat trackers' activations depend on the input level (madmom's networks most); normalising first
    makes a quiet file and a loud copy of it give the same beats. Silence is returned unchanged.
    """
    y = np.asarray(y, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if rms < 1e-7 or peak <= 0.0:
        return y
    gain = min(10 ** (target_dbfs / 20) / rms, 1.0 / peak)
    return (y * np.float32(gain)).astype(np.float32, copy=False)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling (soxr, librosa's default) of ``(n,)`` or ``(C, n)`` float32."""
    if sr_in == sr_out:
        return y
    if y.ndim == 2:
        return soxr.resample(y.T, sr_in, sr_out, quality="HQ").T.astype(np.float32, copy=False)
    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def probe_audio(path: str | os.PathLike) -> float:
    """Duration in seconds (container metadata, 0.0 when unknown) of a file with an audio stream.

    Reads no samples. Raises :class:`MediaError` (``missing_audio``, ``empty_audio``, ``corrupt_audio``,
    ``no_audio_stream``).
    """
    with open_input(path, "audio") as container:
        if not container.streams.audio:
            raise MediaError("no_audio_stream", f"no audio stream in {path}")
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return container.duration / 1_000_000 if container.duration else 0.0


class AudioStreamEncoder:
    """Feeds a ``(C, n)`` float waveform to an output audio stream in codec-sized frames.

    The one audio encoder of the product: :func:`write_audio` encodes a whole file with it, and
    :class:`mv2desc.media.video.VideoWriter` calls :meth:`encode_until` after each video frame so the
    soundtrack is interleaved with the picture.
    """

    def __init__(self, container, y: np.ndarray, sr: int, codec: str, bitrate: int | None, options: dict | None = None) -> None:
        a = np.asarray(y, dtype=np.float32)
        a = a[None, :] if a.ndim == 1 else a
        if a.shape[0] > 2:
            raise ValueError(f"encode mono or stereo audio, got {a.shape[0]} channels")
        self.layout = "mono" if a.shape[0] == 1 else "stereo"
        self.stream = container.add_stream(codec, rate=sr, layout=self.layout)
        if bitrate:
            self.stream.bit_rate = bitrate
        if options:
            self.stream.options = options
        self._container = container
        self._y = np.clip(a, -1.0, 1.0)
        self._sr = sr
        self._pos = 0
        fmt = self.stream.codec_context.format.name if self.stream.codec_context.format else "fltp"
        self._resampler = av.AudioResampler(format=fmt, layout=self.layout, rate=sr)

    def encode_until(self, t_s: float | None) -> None:
        """Encode whole codec frames up to time ``t_s`` (seconds); ``None`` encodes everything left."""
        end = self._y.shape[1] if t_s is None else min(self._y.shape[1], int(t_s * self._sr))
        size = self.stream.codec_context.frame_size or 1024
        while self._pos < end and (t_s is None or end - self._pos >= size):
            block = np.ascontiguousarray(self._y[:, self._pos : self._pos + size])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self.layout)
            frame.sample_rate = self._sr
            frame.pts = self._pos
            frame.time_base = Fraction(1, self._sr)
            self._pos += block.shape[1]
            self._mux(self._resampler.resample(frame))

    def close(self) -> None:
        """Encode what is left and flush the resampler and the encoder."""
        self.encode_until(None)
        self._mux(self._resampler.resample(None))
        for packet in self.stream.encode(None):
            self._container.mux(packet)

    def _mux(self, frames) -> None:
        for rf in frames:
            for packet in self.stream.encode(rf):
                self._container.mux(packet)


CODECS = {".mp3": "libmp3lame", ".wav": "pcm_s16le", ".m4a": "aac", ".flac": "flac"}  # PyAV's FFmpeg has no libvorbis


def write_audio(path: str | os.PathLike, y: np.ndarray, sr: int, *, codec: str | None = None, bitrate: int = 128_000) -> Path:
    """Encode a mono ``(n,)`` or ``(channels, n)`` float waveform; the codec follows the suffix."""
    p = Path(path)
    codec = codec or CODECS.get(p.suffix.lower())
    if codec is None:
        raise ValueError(f"no default audio codec for {p.suffix!r} (known: {', '.join(CODECS)})")
    p.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(p), "w") as container:
        enc = AudioStreamEncoder(container, y, sr, codec, None if codec in ("pcm_s16le", "flac") else bitrate)
        enc.close()
    return p
