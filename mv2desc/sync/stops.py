"""The fate of every visual beat (motion stop) of a shown clip: matched, trimmed, on a beat anyway, or not.

After planning, each visual beat the detector found in a clip's source is accounted for:

* ``matched``: the warp puts it on a music beat (``beat_s``; ``error_ms`` = output time minus that beat,
  within half an output frame: the plan is made on the output's frame grid);
* ``on_beat``: left unmatched by the matcher but landing within half an output frame of a music beat anyway;
* ``trimmed``: cut out of the material (the clip starts after it or ends before it,
  :func:`~mv2desc.sync.matching.trim_match`), so it is not in the output;
* ``unmatched``: in the output, off the beat; ``reason`` says why the matcher left it;
* ``not_shown``: outside the part of the clip the layout shows (a clip cut at the song's end or its span's).

Times: ``source_s`` in the clip, ``output_s`` on the output timeline (None when not in the output).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mv2desc.sync.config import MatchConfig
from mv2desc.sync.matching import Matching, Segment

FATES = ("matched", "on_beat", "trimmed", "unmatched", "not_shown")
_EDGE = 1e-3  # as the engine: beats this close to a segment's edge are the cut itself


@dataclass(frozen=True)
class StopFate:
    """What the plan did with one visual beat of a clip (see the module docstring)."""

    source_s: float
    output_s: float | None
    fate: str
    beat_s: float | None = None
    error_ms: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("source_s", "output_s", "beat_s"):
            if out[key] is not None:
                out[key] = round(float(out[key]), 4)
        if out["error_ms"] is not None:
            out["error_ms"] = round(float(out["error_ms"]), 1)
        return out


def _nearest(t: float, beats: np.ndarray) -> float | None:
    return None if beats.size == 0 else float(beats[int(np.argmin(np.abs(beats - t)))])


def unmatched_reason(v: float, m: Matching, music: np.ndarray, cfg: MatchConfig) -> str:
    """Why the matcher left the visual beat at source time ``v`` unmatched: no music beat it could reach
    between its neighbouring anchors within the stretch bounds, or every such beat taken, or cheaper."""
    src, out = m.warp.src, m.warp.out
    k = int(np.clip(np.searchsorted(src, v) - 1, 0, src.size - 2))  # anchors k and k+1 around it
    lo = max(out[k] + cfg.min_stretch * (v - src[k]), out[k + 1] - cfg.max_stretch * (src[k + 1] - v))
    hi = min(out[k] + cfg.max_stretch * (v - src[k]), out[k + 1] - cfg.min_stretch * (src[k + 1] - v))
    if music.size == 0:
        return "its segment holds no music beat (before the song's first beat or after its last)"
    reach = music[(music > lo) & (music < hi)]
    if reach.size == 0:
        return "no music beat within the stretch bounds"
    taken = set(np.round(out, 6).tolist())
    if all(round(float(b), 6) in taken for b in reach):
        return "the music beats within reach are matched to other visual beats"
    return "matching it would cost more stretch than leaving it (skip_visual_cost)"


def clip_stop_fates(
    times_s: np.ndarray,
    shown: Segment,
    kept: Segment,
    m: Matching,
    targets: np.ndarray,
    music_s: np.ndarray,
    cfg: MatchConfig,
    fps: float | None,
) -> list[StopFate]:
    """The fate of each of a clip's visual beats ``times_s`` (source seconds).

    ``shown``: the clip's segment as laid out; ``kept``: the segment after trimming (same output span);
    ``m``: the matching on ``kept`` (pairs index the visual beats strictly inside ``kept`` and the
    ``targets`` strictly inside its output span); ``music_s``: the song's beats (true times);
    ``fps``: the output frame rate (the on-beat tolerance is half a frame; 21 ms without it).
    """
    tol = 0.5 / fps if fps else 0.021
    times = np.asarray(times_s, dtype=np.float64)
    music = np.asarray(music_s, dtype=np.float64)
    visual = times[(times > kept.src_start + _EDGE) & (times < kept.src_end - _EDGE)]
    beats = targets[(targets > kept.out_start + _EDGE) & (targets < kept.out_end - _EDGE)]
    pair_of = {int(i): int(j) for i, j in m.pairs}
    index = {float(v): i for i, v in enumerate(visual)}
    fates = []
    for t in times:
        t = float(t)
        if not shown.src_start + _EDGE < t < shown.src_end - _EDGE:
            fates.append(StopFate(t, None, "not_shown", reason="outside the part of the clip its segment shows"))
            continue
        if t not in index:
            where = "start" if t <= kept.src_start + _EDGE else "end"
            fates.append(StopFate(t, None, "trimmed", reason=f"cut out at the clip's {where}: no music beat within the stretch bounds"))
            continue
        i = index[t]
        out = float(m.warp.to_output(t))
        beat = _nearest(out, music)
        err = None if beat is None else 1000.0 * (out - beat)
        if i in pair_of:
            beat = _nearest(float(beats[pair_of[i]]), music)
            err = None if beat is None else 1000.0 * (out - beat)
            fates.append(StopFate(t, out, "matched", beat, err))
        elif err is not None and abs(err) <= 1000.0 * tol + 1e-6:
            fates.append(StopFate(t, out, "on_beat", beat, err, reason="unmatched, but it lands on a music beat"))
        else:
            fates.append(StopFate(t, out, "unmatched", beat, err, reason=unmatched_reason(t, m, beats, cfg)))
    return fates


def fate_counts(fates) -> dict[str, int]:
    """``{fate: count}`` over every fate name (zeros included), from :class:`StopFate` objects or their dicts."""
    counts = dict.fromkeys(FATES, 0)
    for f in fates:
        counts[f.fate if isinstance(f, StopFate) else f["fate"]] += 1
    return counts
