"""Video I/O with PyAV: probe, decode (downscaled, grey, or at chosen times), encode H.264 + AAC.

PyAV bundles FFmpeg, so every container FFmpeg reads works without system packages; scaling happens
inside FFmpeg (swscale) while decoding, which is cheaper than decoding at full size and resizing in
numpy. Unscaled yuv420p -> RGB (every full-size frame decoded) goes through OpenCV, whose converter is
about 2.5x faster than swscale's (0.67 vs 1.64 ms per 1280x720 frame, one core) with the same BT.601
limited-range matrix (within 3 levels).

Frame-time convention used throughout ``mv2desc.sync``: frame ``i`` of a clip at ``fps`` is the image
*at* time ``i / fps`` seconds (its presentation time from the clip start), and a clip of ``n`` frames
lasts ``n / fps`` seconds.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Self

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from mv2desc.errors import MediaError
from mv2desc.media.audio import AudioStreamEncoder
from mv2desc.media.files import open_input
from mv2desc.procs import codec_threads


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes:
        path: the file.
        fps: average frame rate (frames per second).
        n_frames: number of decodable frames (counted by decoding when the container does not say).
        width: picture width (pixels).
        height: picture height (pixels).
        has_audio: whether the file has an audio stream.
    """

    path: Path
    fps: float
    n_frames: int
    width: int
    height: int
    has_audio: bool

    @property
    def duration_s(self) -> float:
        """``n_frames / fps`` (seconds): how long the picture lasts."""
        return self.n_frames / self.fps


# swscale's bilinear scaler, named: PyAV 18 picks the same one when none is named (the same bytes, tested in
# tests/mv2desc/media/test_scaler.py), yet then spends twice the time per frame (1280x720 -> 170x96
# RGB: 1.39 vs 0.62 ms; 1280x720 RGB -> yuv420p: 2.9 vs 1.5 ms)
SCALER = "BILINEAR"


def _open(path: str | os.PathLike):
    """Open a video file: MediaError(missing_video | empty_video | corrupt_video | no_video_stream)."""
    container = open_input(path, "video")
    if not container.streams.video:
        container.close()
        raise MediaError("no_video_stream", f"no video stream in {path}")
    return container


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, frame count, size and whether there is sound. Raises :class:`MediaError`."""
    p = Path(path)
    with _open(p) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or float(rate) <= 0:
            raise MediaError("corrupt_video", f"unknown frame rate in {p}")
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        has_audio = bool(container.streams.audio)
        n = int(stream.frames or 0)
        if n <= 0:
            try:
                n = sum(1 for _ in container.decode(stream))
            except av.error.FFmpegError as exc:
                raise MediaError("corrupt_video", f"cannot decode {p}: {exc}") from exc
    if n <= 0 or width <= 0 or height <= 0:
        raise MediaError("corrupt_video", f"no decodable frames in {p}")
    return VideoInfo(p, float(rate), n, width, height, has_audio)


def scaled_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """(w, h) with ``h = min(height, target_height)``, aspect kept, both even (at least 2)."""
    h = min(height, target_height)
    w = max(2, round(width * h / height / 2) * 2)
    return w, max(2, h // 2 * 2)


def _use_threads(stream) -> None:
    """Let a decoder thread (by frames or slices): as many threads as this process's share of the cores
    (:func:`mv2desc.procs.codec_threads`; a pool worker's), else FFmpeg's choice."""
    stream.thread_type = "AUTO"
    if n := codec_threads():
        stream.codec_context.thread_count = n


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of a decoded frame. yuv420p (what H.264 decodes to) is converted by
    OpenCV (BT.601, limited range, as swscale does by default), about 10x faster than swscale's
    unscaled converter; other formats go through swscale."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)  # (H*3/2, W) planar -> (H, W, 3)
    return frame.to_ndarray(format="rgb24", interpolation=SCALER)


def iter_frames(
    path: str | os.PathLike, *, height: int | None = None, width: int | None = None, gray: bool = False,
    first: int = 0, count: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode frames in order: ``(H, W, 3)`` uint8 RGB, or ``(H, W)`` uint8 grey with ``gray``.

    ``height``/``width`` rescale inside FFmpeg (``height`` alone keeps the aspect). ``first``/``count``:
    only frames ``first .. first + count - 1`` (counted at the stream's average frame rate from its
    start; the decoder seeks to the key frame at or before ``first``).
    """
    if first < 0 or (count is not None and count < 0):
        raise ValueError(f"need first >= 0 and count >= 0, got first={first}, count={count}")
    p = Path(path)
    with _open(p) as container:
        stream = container.streams.video[0]
        _use_threads(stream)
        src_w, src_h = int(stream.codec_context.width), int(stream.codec_context.height)
        if height is not None and width is None:
            width, height = scaled_size(src_w, src_h, height)
        fmt = "gray" if gray else "rgb24"
        index = _frame_index(stream)
        if first > 0:
            container.seek(index.pts(first), stream=stream, backward=True, any_frame=False)
        left = count
        scale = VideoReformatter().reformat  # one swscale context for every frame (a frame's own is made anew each time)
        try:
            for frame in container.decode(stream):
                if left is not None and left <= 0:
                    break
                if first > 0 and index.of(frame) < first:
                    continue
                if width is not None and height is not None:
                    yield scale(frame, width=width, height=height, format=fmt, interpolation=SCALER).to_ndarray()
                elif gray:
                    yield scale(frame, format=fmt, interpolation=SCALER).to_ndarray()
                else:
                    yield to_rgb(frame)
                if left is not None:
                    left -= 1
                    if left <= 0:
                        break
        except av.error.InvalidDataError:
            return  # truncated stream: keep the frames that decoded


@dataclass(frozen=True)
class _FrameIndex:
    """Frame number <-> presentation time of a constant-rate stream (from its start time)."""

    start: int
    time_base: Fraction
    fps: Fraction

    def pts(self, index: int) -> int:
        return self.start + int(Fraction(index) / self.fps / self.time_base)

    def of(self, frame: av.VideoFrame) -> int:
        if frame.pts is None:
            raise MediaError("corrupt_video", "a frame without a timestamp: cannot seek to a frame number")
        return round((frame.pts - self.start) * self.time_base * self.fps)


def _frame_index(stream) -> _FrameIndex:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return _FrameIndex(int(stream.start_time or 0), Fraction(stream.time_base), Fraction(rate) if rate else Fraction(1))


def iter_av_frames(path: str | os.PathLike, *, width: int, height: int) -> Iterator[av.VideoFrame]:
    """Decode frames as ``av.VideoFrame`` in yuv420p at ``width x height`` (no RGB round trip)."""
    p = Path(path)
    with _open(p) as container:
        stream = container.streams.video[0]
        _use_threads(stream)
        same = (int(stream.codec_context.width), int(stream.codec_context.height)) == (width, height)
        scale = VideoReformatter().reformat  # one swscale context for every frame
        try:
            for frame in container.decode(stream):
                if same and frame.format.name == "yuv420p":
                    yield frame
                else:
                    yield scale(frame, width=width, height=height, format="yuv420p", interpolation=SCALER)
        except av.error.InvalidDataError:
            return


def read_frames(
    path: str | os.PathLike, *, height: int | None = None, width: int | None = None, gray: bool = False
) -> np.ndarray:
    """All frames as one array: ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8."""
    frames = list(iter_frames(path, height=height, width=width, gray=gray))
    if not frames:
        raise MediaError("corrupt_video", f"no decodable frames in {path}")
    return np.stack(frames)


def frame_rate(fps: float) -> Fraction:
    """A frame rate as the fraction a container stores: NTSC rates written as decimals (23.976, 23.98,
    29.97, 47.952, 59.94, 119.88, or the float of 24000/1001) -> n * 1000/1001; others the smallest
    close fraction (25 -> 25, 7.5 -> 15/2)."""
    if not fps > 0:
        raise ValueError(f"frame rate must be > 0, got {fps}")
    n = round(fps * 1.001)
    if n >= 10 and abs(fps - round(fps)) > 1e-6 and abs(fps - n * 1000 / 1001) < 0.005:
        return Fraction(n * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


class VideoWriter:
    """Write RGB frames as H.264 (yuv420p) and, optionally, a soundtrack as AAC, interleaved.

    ``audio`` is ``(channels, n)`` or ``(n,)`` float32 at ``sample_rate``; it is encoded alongside the
    frames so the file is interleaved, and whatever is left is flushed by :meth:`close`. ``keyframe_s``:
    the longest stretch (seconds) between two key frames (None: x264's default of 250 frames).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float,
        width: int,
        height: int,
        audio: np.ndarray | None = None,
        sample_rate: int = 44100,
        crf: int = 20,
        preset: str = "veryfast",
        audio_bitrate: int = 192_000,
        keyframe_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.width, self.height = width, height
        self._container = av.open(str(self.path), "w")
        rate = frame_rate(fps)
        self._vstream = self._container.add_stream("libx264", rate=rate)
        self._vstream.width, self._vstream.height, self._vstream.pix_fmt = width, height, "yuv420p"
        self._vstream.options = {"crf": str(crf), "preset": preset}
        if n := codec_threads():  # a pool worker's share of the cores (x264 defaults to 1.5 threads per core)
            self._vstream.codec_context.thread_count = n
        if keyframe_s:  # a key frame at least this often (x264's own default: every 250 frames)
            self._vstream.codec_context.gop_size = max(1, round(keyframe_s * fps))
        self._vtb = 1 / rate
        self._n = 0
        self._reformatter = VideoReformatter()
        self._audio: AudioStreamEncoder | None = None
        if audio is not None:
            # "aac_coder: fast": half the time of the default two-loop search
            self._audio = AudioStreamEncoder(self._container, audio, sample_rate, "aac", audio_bitrate, {"aac_coder": "fast"})

    def write(self, image: np.ndarray | av.VideoFrame) -> None:
        """Append one frame: a ``(height, width, 3)`` uint8 RGB array, or a decoded ``av.VideoFrame`` of
        the output size (any pixel format; yuv420p passes through without conversion)."""
        if isinstance(image, av.VideoFrame):
            # the encoder copies what it is sent, so one decoded frame may be written several times
            frame = image if image.format.name == "yuv420p" else self._reformatter.reformat(image, format="yuv420p", interpolation=SCALER)
        else:
            # swscale converts to yuv420p here, although OpenCV would take half the time: their chroma
            # subsampling differs (up to 15 levels at edges), and the visual-beat detector's held-frame test
            # is tuned on swscale's encodes (with OpenCV's, a 2-1 hold pattern shows one false stop; with
            # OpenCV's luma and chroma averaged in 2x2 blocks, each within 1 and 7 levels of swscale's, too)
            # (converted here with the scaler named: the same bytes as handing the encoder the RGB frame,
            # measured on 120 procedural 1280x720 frames, in 0.5 ms less per frame; one reformatter for
            # every frame: a frame's own makes a new swscale context each time, 0.5 ms more)
            frame = self._reformatter.reformat(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"),
                                               format="yuv420p", interpolation=SCALER)
        frame.pts = self._n
        frame.time_base = self._vtb
        for packet in self._vstream.encode(frame):
            self._container.mux(packet)
        self._n += 1
        if self._audio is not None:
            self._audio.encode_until(self._n / self.fps)

    def close(self) -> Path:
        """Flush both encoders and close the file; returns its path."""
        for packet in self._vstream.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.close()
        self._container.close()
        return self.path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    crf: int = 18,
    preset: str = "ultrafast",
) -> Path:
    """Write ``(T, H, W, 3)`` uint8 frames, or an iterable of ``(H, W, 3)`` ones (encoded as they come), as
    an MP4 (+ optional audio); returns the path. Raises ``ValueError`` without frames."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError(f"no frames to write to {path}")
    h, w = first.shape[:2]
    with VideoWriter(path, fps=fps, width=w, height=h, audio=audio, sample_rate=sample_rate, crf=crf, preset=preset) as vw:
        for f in itertools.chain([first], it):
            vw.write(f)
    return Path(path)


def frames_at(path: str | os.PathLike, times_s: list[float]) -> list[np.ndarray]:
    """The decoded frame shown at each time (the last frame starting at or before it), ``(H, W, 3)`` RGB.

    The key frames' times are read first (packet headers only, nothing decoded); a time is then reached
    by decoding on from the frame before it when no key frame lies between (a few frames of one GOP),
    else by seeking to the key frame before it: each frame is decoded at most once for times given in
    order, and never more than a GOP per time. Raises :class:`MediaError` (``corrupt_video`` when no
    frame decodes at a time).
    """
    images: list[np.ndarray] = []
    with _open(path) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
        try:
            keys = sorted(float(p.pts * tb) - start for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
            _use_threads(stream)
            decoder, held, held_t = None, None, None  # the running decode, its last frame and that frame's time
            for t in times_s:
                t = max(0.0, t)
                before = [k for k in keys if k <= t + 1e-6]
                key_t = before[-1] if before else 0.0
                if decoder is None or held_t is None or held_t > t + 1e-6 or held_t < key_t - 1e-6:
                    container.seek(int((start + key_t) / tb), stream=stream, backward=True, any_frame=False)
                    decoder, held, held_t = container.decode(stream), None, None
                chosen = held if held_t is not None and held_t <= t + 1e-6 else None
                for frame in decoder:
                    ft = (float(frame.pts * tb) - start) if frame.pts is not None else None
                    if chosen is not None and ft is not None and ft > t + 1e-6:
                        held, held_t = frame, ft  # the first frame after t: where the next time starts from
                        break
                    chosen, held, held_t = frame, frame, ft
                    if ft is not None and abs(ft - t) < 1e-6:
                        break
                if chosen is None:
                    raise MediaError("corrupt_video", f"no frame at {t:.2f}s in {path}")
                images.append(to_rgb(chosen))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise MediaError("corrupt_video", f"cannot decode frames of {path}: {exc}") from exc
    return images


def video_duration_s(path: str | os.PathLike) -> float:
    """Duration of the first video stream in seconds (container duration when the stream has none)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / 1_000_000  # av.time_base is microseconds
    raise MediaError("corrupt_video", f"unknown duration of {path}")
