"""The work done for one clip, in a worker process: features and description, each cached."""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.clip_cache import DescriptionCache, FeatureCache
from data_prep.config import BuildConfig
from data_prep.music4all import read_lyrics
from data_prep.tracks import Track
from mv2desc.audio.features import AcousticFeatureExtractor, ClipFeatures
from mv2desc.describe.metadata import SongFacts, measured_attributes
from mv2desc.describe.metadata import describe as describe_metadata
from mv2desc.errors import MediaError
from mv2desc.procs import die_with_parent, on_signal

log = logging.getLogger(__name__)

# -- interrupts ---------------------------------------------------------------------------------
# A KeyboardInterrupt raised while openSMILE runs a Python callback through ctypes is printed and
# swallowed ("Exception ignored on calling ctypes callback function"), and the extraction goes on
# with a cut signal. The handler below also sets a flag; a clip is cached only if the flag is clear,
# and a set flag re-raises KeyboardInterrupt: an interrupt stops the build, nothing half-valid stays.
_INTERRUPTED = threading.Event()


def _on_interrupt(signum, frame) -> None:
    _INTERRUPTED.set()
    on_signal(signum, frame)  # raises mv2desc.procs.Interrupted: exit 130 for SIGINT, 143 for SIGTERM


def install_interrupt_handlers(signals=(signal.SIGINT,)) -> dict:
    """Handlers for ``signals`` (SIGTERM included, it is handled like Ctrl-C) -> the previous handlers.
    Only possible in the main thread; elsewhere nothing is installed."""
    _INTERRUPTED.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, _on_interrupt) for s in signals}


def restore_handlers(previous: dict) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler)


def raise_if_interrupted() -> None:
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt("interrupted during a clip's extraction (not cached)")


@dataclass
class ClipOutcome:
    id: str
    ok: bool
    reason: str = ""
    detail: str = ""
    degraded: list[tuple[str, str]] = field(default_factory=list)
    features_cached: bool = False
    description_cached: bool = False
    cpu_s: dict[str, float] = field(default_factory=dict)


def caches(config: BuildConfig) -> tuple[FeatureCache, DescriptionCache]:
    root = Path(config.out) / "cache"
    features = config.features.fingerprint()  # settings + extractor versions + decode version
    return (
        FeatureCache(root / f"features-{features}"),
        DescriptionCache(root / f"descriptions-{config.description.fingerprint()}-{features[:8]}"),
    )


def song_facts(track: Track) -> SongFacts:
    valence = track.metadata.get("valence")
    return SongFacts(track.id, track.artist, track.song, tuple(track.tags), tuple(track.genres), valence if isinstance(valence, float) else None)


class ClipProcessor:
    """Holds the per-process extractors and models (built lazily, once)."""

    def __init__(self, config: BuildConfig) -> None:
        import torch
        from threadpoolctl import threadpool_limits

        # One worker = a fixed number of threads (torch, BLAS, OpenMP): num_proc workers then use
        # num_proc x threads_per_worker cores, with no oversubscription on a many-core machine.
        torch.set_num_threads(config.features.threads_per_worker)
        self._thread_limits = threadpool_limits(config.features.threads_per_worker)
        self.config = config
        self.extractor = AcousticFeatureExtractor(config.features)
        self.feature_cache, self.description_cache = caches(config)
        self._video = None

    @property
    def video_describer(self):
        if self._video is None:
            from data_prep.video.describe import VideoDescriber

            self._video = VideoDescriber(self.config.description.video)
        return self._video

    def __call__(self, track: Track) -> ClipOutcome:
        try:
            return self._process(track)
        except Exception as exc:  # a bug or an unforeseen input must not stop a 100k-clip build
            raise_if_interrupted()  # ... but an error caused by an interrupt is the interrupt
            log.debug("clip %s failed:\n%s", track.id, traceback.format_exc())
            return ClipOutcome(track.id, False, "extractor_error", f"{type(exc).__name__}: {exc}")

    def _process(self, track: Track) -> ClipOutcome:
        outcome = ClipOutcome(track.id, True)
        lyrics, lyrics_issue = read_lyrics(track)
        if lyrics_issue:
            outcome.degraded.append((lyrics_issue, ""))
        features: ClipFeatures | None = self.feature_cache.get(track.id)
        if features is not None:
            outcome.features_cached = True
        else:
            try:
                features = self.extractor.extract_file(track.audio_path)
            except MediaError as exc:
                raise_if_interrupted()
                return ClipOutcome(track.id, False, exc.reason, exc.detail)
            raise_if_interrupted()  # an extraction that saw an interrupt is never cached
            self.feature_cache.put(track.id, features)
            outcome.cpu_s.update(features.cpu_s)
        description = self.description_cache.get(track.id)
        if description is not None:
            outcome.description_cached = True
        else:
            t0 = time.process_time()
            description, issue = self._describe(track, features, lyrics)
            if description is None:
                return ClipOutcome(track.id, False, issue[0], issue[1])
            if issue:
                outcome.degraded.append(issue)
            raise_if_interrupted()
            self.description_cache.put(track.id, description)
            outcome.cpu_s["describe"] = time.process_time() - t0
        if description.get("degraded"):
            outcome.degraded.append(tuple(description["degraded"]))
        return outcome

    def _describe(self, track: Track, features: ClipFeatures, lyrics: str | None):
        """-> (description dict | None, (reason, detail) | None)."""
        cfg = self.config.description
        measured = measured_attributes(features.values)
        if cfg.source == "video":
            if track.video_path is None:
                if not cfg.fallback_to_metadata:
                    return None, ("no_video", "")
                reason, detail = "video_fallback_metadata", "no video"
            else:
                from data_prep.video.errors import VideoDescriptionError
                from mv2desc.media.audio import load_audio

                try:
                    clip = load_audio(track.audio_path, max_duration_s=self.config.features.max_duration_s)
                    d = self.video_describer.describe(track, clip, Path(track.video_path), measured)
                    return {
                        "description": d.text,
                        "description_source": "video",
                        "description_model": f"{d.captioner} + {d.fuser}",
                        "video_offset_s": d.offset_s,
                        "video_align_score": d.align_score,
                        "shots": [[d.to_clip_time(s), d.to_clip_time(e)] for s, e in d.shots],  # clip time, per aligned part
                        "video_align_parts": [list(map(float, p)) for p in d.align_parts],
                        "video_align_agreement": float(d.align_agreement),
                        "shot_captions": list(d.shot_captions),
                    }, None
                except VideoDescriptionError as exc:
                    if not cfg.fallback_to_metadata:
                        return None, ("video_failed", f"{exc.reason}: {exc.detail}")
                    reason, detail = "video_fallback_metadata", exc.reason
            text = describe_metadata(song_facts(track), measured, lyrics, seed=cfg.seed, include_lyrics=cfg.include_lyrics, include_identity=cfg.include_identity)
            return {"description": text, "description_source": "metadata", "description_model": "", "degraded": (reason, detail)}, None
        text = describe_metadata(song_facts(track), measured, lyrics, seed=cfg.seed, include_lyrics=cfg.include_lyrics, include_identity=cfg.include_identity)
        return {"description": text, "description_source": "metadata", "description_model": ""}, None


# -- process-pool plumbing (module level so that 'spawn' workers can pickle it) -------------------
_PROCESSOR: ClipProcessor | None = None


def init_worker(config: BuildConfig, parent_pid: int | None = None) -> None:
    global _PROCESSOR
    from mv2desc.offline import default_offline

    if parent_pid is not None:
        die_with_parent(parent_pid)
    install_interrupt_handlers()
    default_offline()
    _PROCESSOR = ClipProcessor(config)


def worker_extractor() -> AcousticFeatureExtractor:
    """This worker's feature extractors (those its clips use)."""
    assert _PROCESSOR is not None, "init_worker was not called"
    return _PROCESSOR.extractor


def run_in_worker(track: Track) -> ClipOutcome:
    assert _PROCESSOR is not None, "init_worker was not called"
    return _PROCESSOR(track)
