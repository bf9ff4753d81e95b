"""Render warped clips to one MP4 with the song's audio (PyAV).

Each output frame ``k`` is shown at ``k / fps``; the clip whose segment holds that time provides it,
through its warp and :func:`~mv2desc.sync.warp.frame_plan`. Source frames are requested in
non-decreasing order (warps are monotonic), so every clip is decoded once, as a stream, holding at
most two frames: memory does not grow with clip length or resolution. With "nearest" or "blend"
resampling and clips of the output's size, decoded frames go to the encoder as they are, or blended in
their own yuv420p planes (no RGB round trip).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mv2desc.media.video import VideoInfo, VideoWriter, iter_av_frames, iter_frames
from mv2desc.sync.interpolate import FlowInterpolator
from mv2desc.sync.warp import FramePlan, TimeWarp, frame_plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipPlacement:
    """One clip on the output timeline: its file, its warp and the output span it fills.

    ``frames``: where the clip's frames come from when not from decoding ``info.path``: a picklable
    callable returning them in order (``(H, W, 3)`` uint8 RGB each, ``info.n_frames`` of them), e.g. a
    renderer that draws the clip on demand (chunks are encoded in worker processes)."""

    info: VideoInfo
    warp: TimeWarp
    out_start: float
    out_end: float
    frames: Callable[[], Iterable[np.ndarray]] | None = None


def fit_size(src_w: int, src_h: int, out_w: int, out_h: int) -> tuple[int, int]:
    """Largest even size with the source's aspect that fits in ``out_w x out_h``."""
    scale = min(out_w / src_w, out_h / src_h)
    return max(2, int(src_w * scale) // 2 * 2), max(2, int(src_h * scale) // 2 * 2)


def _letterbox(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    h, w = img.shape[:2]
    if (w, h) == (out_w, out_h):
        return img
    canvas = np.zeros((out_h, out_w, 3), dtype=np.uint8)
    y0, x0 = (out_h - h) // 2, (out_w - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = img
    return canvas


class _ClipStream:
    """Random access in non-decreasing order over a clip's decoded frames, keeping two at most.

    With ``passthrough`` (the clip fills the output exactly; no flow interpolation) frames stay decoded
    ``av.VideoFrame`` objects in yuv420p and go to the encoder unconverted (or blended in yuv420p);
    otherwise they are RGB arrays, letterboxed to the output size.
    """

    def __init__(self, info: VideoInfo, width: int, height: int, passthrough: bool = False,
                 frames: Callable[[], Iterable[np.ndarray]] | None = None) -> None:
        w, h = fit_size(info.width, info.height, width, height)
        if frames is not None:  # drawn, not decoded: RGB at the clip's own size
            resize = (info.width, info.height) != (w, h)
            self._frames = (cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) if resize else f for f in frames())
            self._box = lambda f: _letterbox(f, width, height)
        elif passthrough and (w, h) == (width, height):
            self._frames: Iterator = iter_av_frames(info.path, width=w, height=h)
            self._box = lambda f: f
        else:
            self._frames = iter_frames(info.path, width=w, height=h)
            self._box = lambda f: _letterbox(f, width, height)
        self._index = -1
        self._current = None
        self._next = None

    def _advance(self) -> None:
        if self._next is not None:
            self._current, self._next = self._next, None
        else:
            frame = next(self._frames, None)
            if frame is None:  # fewer frames than the container said: hold the last one
                if self._current is None:
                    raise ValueError("clip has no decodable frames")
                return
            self._current = self._box(frame)
        self._index += 1

    def get(self, index: int):
        if index < self._index:
            raise ValueError(f"frames must be requested in order (asked {index} after {self._index})")
        while self._index < index:
            before = self._index
            self._advance()
            if self._index == before:  # stream ended
                break
        return self._current

    def peek_next(self):
        if self._next is None:
            frame = next(self._frames, None)
            self._next = None if frame is None else self._box(frame)
        return self._current if self._next is None else self._next


# a key frame every 2 s in the written video: a player or an editor seeks (scrubs) to any point decoding at
# most 2 s of frames, and so do the scores' frame samples (mv2desc.media.video.frames_at). x264's default GOP
# of 250 frames (10 s at 24 fps) held a whole segment; at 2 s the file grew 1.8 % (procedural, 1280x720)
KEYFRAME_S = 2.0


def output_frame_count(duration_s: float, fps: float) -> int:
    """Frames needed to show ``duration_s`` seconds at ``fps`` (rounded to the nearest frame)."""
    return max(1, round(duration_s * fps))


def render(
    placements: list[ClipPlacement],
    out_path: str | os.PathLike,
    *,
    duration_s: float,
    fps: float,
    width: int,
    height: int,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    resample: str = "flow",
    crf: int = 20,
    preset: str = "veryfast",
    audio_bitrate: int = 192_000,
    flow_height: int = 180,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the placements as an H.264 MP4 of ``duration_s`` seconds (+ AAC ``audio``); returns the path.

    ``placements`` must tile ``[0, duration_s]`` in order; ``audio`` is ``(channels, n)`` float32.
    ``resample``: "flow" (motion-compensated in-between frames), "nearest" or "blend".
    ``progress(done, total)`` is called after each clip with output frames written so far.
    Returns the path; the file has ``round(duration_s * fps)`` frames.
    """
    interpolator = FlowInterpolator(flow_height) if resample == "flow" else None
    n_out = output_frame_count(duration_s, fps)
    which = frame_owners(placements, n_out, fps)
    times = np.arange(n_out) / fps
    with VideoWriter(
        out_path, fps=fps, width=width, height=height, audio=audio, sample_rate=sample_rate,
        crf=crf, preset=preset, audio_bitrate=audio_bitrate, keyframe_s=KEYFRAME_S,
    ) as writer:
        for c, placement in enumerate(placements):
            ks = np.flatnonzero(which == c)
            if ks.size == 0:
                continue
            plan = frame_plan(placement.warp, times[ks], placement.info.fps, placement.info.n_frames, resample, fps)
            for img in _placement_frames(placement, plan, width, height, resample, interpolator, c):
                writer.write(img)
            if progress is not None:
                progress(int(np.count_nonzero(which <= c)), n_out)
    return Path(out_path)


def frame_owners(placements: list[ClipPlacement], n_out: int, fps: float) -> np.ndarray:
    """``(n_out,)`` the placement shown on each output frame: the one on screen at the frame's middle,
    so cuts land on the frame nearest them."""
    times = np.arange(n_out) / fps
    starts = np.array([p.out_start for p in placements])
    return np.clip(np.searchsorted(starts, times + 0.5 / fps, side="right") - 1, 0, len(placements) - 1)


def placement_ranges(placements: list[ClipPlacement], duration_s: float, fps: float) -> list[tuple[int, int]]:
    """The output frames of each placement that shows any, in order: ``(first, count)`` (what
    :func:`render` and :func:`render_chunked` write), the segments whose motion can be measured apart."""
    which = frame_owners(placements, output_frame_count(duration_s, fps), fps)
    ranges = []
    for c in range(len(placements)):
        ks = np.flatnonzero(which == c)
        if ks.size:
            ranges.append((int(ks[0]), int(ks.size)))
    return ranges


def _placement_frames(placement: ClipPlacement, plan, width: int, height: int, resample: str,
                      interpolator: FlowInterpolator | None, c: int) -> Iterator:
    """The output frames of one placement, in order, from its frame plan."""
    stream = _ClipStream(placement.info, width, height, passthrough=resample in ("nearest", "blend"), frames=placement.frames)
    for idx, w in zip(plan.index, plan.weight):
        img = stream.get(int(idx))
        if w > 0 and interpolator is not None:
            img = interpolator.between(img, stream.peek_next(), float(w), key=(c, int(idx)))
        elif w > 0:
            img = _blend(img, stream.peek_next(), float(w))
        yield img


def _blend(a, b, w: float):
    """``(1 - w) a + w b``: of RGB arrays, or of decoded yuv420p frames plane by plane (a colour
    conversion is affine, so this is the same blend without the round trip through RGB, which cost
    more than encoding the frame: 2.2 ms per 1280x720 frame in swscale)."""
    if isinstance(a, np.ndarray):
        return cv2.addWeighted(a, 1.0 - w, b, w, 0.0)
    import av

    planar = cv2.addWeighted(a.to_ndarray(), 1.0 - w, b.to_ndarray(), w, 0.0)  # (H * 3 / 2, W): Y, then U, then V
    return av.VideoFrame.from_ndarray(planar, format="yuv420p")


CHUNK_FORMAT = "mv2desc.sync.chunk/2"  # 2: a key frame every KEYFRAME_S


@dataclass(frozen=True)
class ChunkResult:
    """What :func:`render_chunked` did: per placement, its chunk's key and whether it came from the cache."""

    keys: tuple[str, ...]
    reused: tuple[bool, ...]
    checksums: tuple[str, ...] = ()  # per placement, the SHA-256 of its chunk's bytes ("" where it shows no frame)
    measured: tuple = ()  # per placement, what ``measure`` returned on its newly encoded chunk (None: reused, or no measure)


def render_chunked(
    placements: list[ClipPlacement],
    out_path: str | os.PathLike,
    *,
    chunk_dir: str | os.PathLike,
    clip_ids: list[str],
    duration_s: float,
    fps: float,
    width: int,
    height: int,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    resample: str = "flow",
    crf: int = 20,
    preset: str = "veryfast",
    audio_bitrate: int = 192_000,
    flow_height: int = 180,
    workers: int = 1,
    force: frozenset[int] = frozenset(),
    measure: Callable[[Path, int], Any] | None = None,
) -> ChunkResult:
    """:func:`render`, one H.264 chunk per placement, each cached in ``chunk_dir`` under a hash of what
    makes its frames (``clip_ids[c]``: the content hash of placement ``c``'s clip file; its frame plan;
    the output settings), then joined by stream copy with the soundtrack encoded alongside.

    The output frames are those :func:`render` makes (the same frame owners, plans and resampling);
    a rerun where one clip changed re-encodes that clip's chunk alone, and the other segments' frames
    are bit-identical to the previous output. Every chunk is a closed encode starting on a key frame,
    so the joined stream is valid from any chunk's start; chunks whose codec parameters (SPS/PPS)
    differ from the first one's are refused (``ValueError``) rather than joined. The chunks to encode are
    encoded in ``workers`` processes (1 = in this one); each is written whole or not at all. ``force``:
    placements whose chunk is encoded again even when a valid one is cached. ``measure(path, n_frames)``:
    run on each chunk encoded, in the process that encoded it, once the chunk is in place (picklable for
    ``workers > 1``); its results are ``ChunkResult.measured``.
    """
    from mv2desc.fingerprint import fingerprint

    n_out = output_frame_count(duration_s, fps)
    which = frame_owners(placements, n_out, fps)
    times = np.arange(n_out) / fps
    folder = Path(chunk_dir)
    folder.mkdir(parents=True, exist_ok=True)
    chunks: list[tuple[Path, int]] = []
    keys, reused, jobs = [], [], []
    for c, placement in enumerate(placements):
        ks = np.flatnonzero(which == c)
        if ks.size == 0:
            keys.append(""), reused.append(False)
            continue
        plan = frame_plan(placement.warp, times[ks], placement.info.fps, placement.info.n_frames, resample, fps)
        key = fingerprint([CHUNK_FORMAT, clip_ids[c], np.asarray(plan.index).tolist(), np.round(plan.weight, 6).tolist(),
                           [width, height, fps, resample, crf, preset, flow_height if resample == "flow" else None]], length=24)
        path = chunk_path(folder, key)
        hit = c not in force and _chunk_ok(path, int(ks.size))
        if not hit and c not in force and path.exists():
            log.warning("cached chunk %s is damaged or unverified (its checksum, frames or first key frame differ from when it "
                        "was written): encoding it again", path.name)
        if not hit:
            jobs.append(_ChunkJob(placement, plan, path, c, width, height, fps, resample, crf, preset, flow_height, measure))
        chunks.append((path, int(ks.size)))
        keys.append(key), reused.append(hit)
    if workers <= 1 or len(jobs) <= 1:
        results = [_encode_chunk(job) for job in jobs]
    else:
        import multiprocessing

        from mv2desc.procs import raise_if_interrupted, worker_pool

        jobs.sort(key=lambda job: -len(job.plan.index))  # longest first: the last job to finish is a short one
        # workers ignore Ctrl-C and die with this process; an interrupt or error here terminates them
        with worker_pool(min(workers, len(jobs)), multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_encode_chunk, jobs))
            raise_if_interrupted()
    measured: list[Any] = [None] * len(placements)
    for job, result in zip(jobs, results):
        measured[job.index] = result
    join_chunks(chunks, out_path, fps=fps, audio=audio, sample_rate=sample_rate, audio_bitrate=audio_bitrate)
    sums = tuple(_seal(chunk_path(folder, key)).read_text(encoding="ascii").strip() if key else "" for key in keys)
    return ChunkResult(tuple(keys), tuple(reused), sums, tuple(measured))


@dataclass(frozen=True)
class _ChunkJob:
    """One chunk to encode: placement ``index``'s frames on ``plan`` into ``path``."""

    placement: ClipPlacement
    plan: FramePlan
    path: Path
    index: int
    width: int
    height: int
    fps: float
    resample: str
    crf: int
    preset: str
    flow_height: int
    measure: Callable[[Path, int], Any] | None = None


def _encode_chunk(job: _ChunkJob) -> Any:
    """Encode one chunk (a temporary file renamed into place, then its seal); returns ``job.measure`` of it
    (None without one)."""
    from mv2desc.atomic import atomic_write_bytes
    from mv2desc.fingerprint import file_fingerprint

    interpolator = FlowInterpolator(job.flow_height) if job.resample == "flow" else None
    tmp = job.path.with_name(f".tmp-{os.getpid()}-{job.path.name}")
    try:
        with VideoWriter(tmp, fps=job.fps, width=job.width, height=job.height, crf=job.crf, preset=job.preset,
                         keyframe_s=KEYFRAME_S) as writer:
            for img in _placement_frames(job.placement, job.plan, job.width, job.height, job.resample, interpolator, job.index):
                writer.write(img)
        os.replace(tmp, job.path)
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_bytes(_seal(job.path), file_fingerprint(job.path, 64).encode())
    return job.measure(job.path, len(job.plan.index)) if job.measure is not None else None


def chunk_path(chunk_dir: str | os.PathLike, key: str) -> Path:
    """Where :func:`render_chunked` keeps the chunk of ``key`` in ``chunk_dir``."""
    return Path(chunk_dir) / f"{key}.mp4"


def _seal(path: Path) -> Path:
    return path.with_suffix(".sha256")


def chunk_intact(path: Path) -> bool:
    """Whether a cached chunk's bytes are those it was written with (its seal's checksum)."""
    from mv2desc.fingerprint import file_fingerprint

    try:
        return path.is_file() and _seal(path).read_text(encoding="ascii").strip() == file_fingerprint(path, 64)
    except OSError:
        return False


def _chunk_ok(path: Path, n_frames: int) -> bool:
    """A cached chunk is used only when its bytes match the checksum written with it (its seal), it opens,
    its first packet is a key frame and it holds exactly the frames it should; anything else is re-encoded."""
    import av

    from mv2desc.fingerprint import file_fingerprint

    try:
        if not path.is_file() or _seal(path).read_text(encoding="ascii").strip() != file_fingerprint(path, 64):
            return False
    except OSError:
        return False
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            packets = [p for p in c.demux(stream) if p.size]
        return bool(packets) and packets[0].is_keyframe and len(packets) == n_frames
    except (av.error.FFmpegError, IndexError, OSError):
        return False


def join_chunks(chunks: list[tuple[Path, int]], out_path: str | os.PathLike, *, fps: float, audio: np.ndarray | None,
                sample_rate: int, audio_bitrate: int) -> Path:
    """Concatenate H.264 chunks (``(path, frames)``, each starting on a key frame) by stream copy into
    ``out_path``, timestamps shifted by the frames before each, with ``audio`` encoded as AAC alongside
    (interleaved as :class:`~mv2desc.media.video.VideoWriter` does)."""
    import av

    from mv2desc.media.audio import AudioStreamEncoder

    with av.open(str(out_path), "w", format="mp4") as out:
        with av.open(str(chunks[0][0])) as first:
            vstream = out.add_stream_from_template(first.streams.video[0])
            extradata = first.streams.video[0].codec_context.extradata
        encoder = (AudioStreamEncoder(out, audio, sample_rate, "aac", audio_bitrate, {"aac_coder": "fast"})
                   if audio is not None else None)
        done = 0
        last_dts = None
        for path, n in chunks:
            with av.open(str(path)) as src:
                stream = src.streams.video[0]
                if stream.codec_context.extradata != extradata:
                    raise ValueError(f"chunk {path.name}: codec parameters differ from the first chunk's; cannot join by stream copy")
                tb = stream.time_base
                shift = int(round(done / fps / tb))
                for k, packet in enumerate(src.demux(stream)):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    if k == 0 and not packet.is_keyframe:
                        raise ValueError(f"chunk {path.name} does not start on a key frame")
                    packet.pts += shift
                    packet.dts += shift
                    if last_dts is not None and packet.dts <= last_dts:
                        raise ValueError(f"chunk {path.name}: decoding times overlap the previous chunk's")
                    last_dts = packet.dts
                    if encoder is not None:
                        encoder.encode_until(float(packet.dts * tb))
                    packet.stream = vstream
                    out.mux(packet)
            done += n
        if encoder is not None:
            encoder.encode_until(done / fps)
            encoder.close()
    return Path(out_path)
