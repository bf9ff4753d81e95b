"""Procedural motion clips whose visual beats are known exactly (tests, benchmarks, demo).

A clip shows textured objects on a static textured background. Before each *event* one object
accelerates from rest (speed rising linearly, so there is no deceleration on the way) and stops dead
at the event time: the only decelerations of the clip, hence its visual beats, are the events. Event
times sit on the frame grid, so the stop frame is ``event_s * fps`` exactly.

``motion="still"`` renders nothing moving (plus per-frame sensor grain) and ``motion="drift"`` a slow
constant pan: two low-motion clips that must yield few or no visual beats.

The visual-beat benchmark (``benchmarks/bench_visual_beats.py``) adds four kinds whose events are
known exactly, one subject moving at a time (so no unlabelled deceleration happens between events):

* ``"halt"``: a square (flat for odd seeds, else textured) travels at constant speed or speeding up
  and **stops dead** at each event, rests for one frame to 0.3 s (a stop may last a single frame at
  8 fps), then sets off in a new direction (with ``n_objects`` squares, they take turns);
* ``"bounce"``: a ball **reverses** against a wall at each event, bouncing between two walls (left
  and right, or for odd seeds floor and ceiling) at a constant speed that changes per leg, drifting
  slowly across;
* ``"pan"``: the whole picture translates (a camera pan over a large texture) and **halts** at each
  event, like ``"halt"`` for the whole frame;
* ``"cut"``: shots of different scenes, each panning and with an object moving steadily, joined by
  **hard cuts** at the events (the motion never stops: a cut must be reported as a cut, not a beat).

Subjects reach ``PEAK_SPEED`` (0.3-1.2 frame heights per second) before they stop or bounce. ``noise``
adds Gaussian grain to every frame of any kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MOTIONS = ("stops", "still", "drift", "halt", "bounce", "pan", "cut")
EVENT_MOTIONS = ("stops", "halt", "bounce", "pan", "cut")  # motions whose events are drawn / given
BENCH_MOTIONS = ("halt", "bounce", "pan", "cut")  # the benchmark's kinds (``"cut"``: events are hard cuts)
# top speed of a benchmark clip's moving subject (frame heights per second): brisk, still trackable at
# 8 fps (at most 0.15 of the picture's height per frame)
PEAK_SPEED = (0.3, 1.2)


@dataclass(frozen=True)
class MotionClipSpec:
    """What a synthetic clip is.

    Args:
        duration_s: clip length (seconds); the clip has ``round(duration_s * fps)`` frames.
        fps: frame rate.
        width: picture width (pixels).
        height: picture height (pixels).
        n_objects: textured objects on screen.
        motion: "stops" (objects stop abruptly at the events), "still" or "drift" (low motion), or one of
            the benchmark's kinds "halt", "bounce", "pan", "cut" (see the module docstring).
        events_s: event times (seconds): stops, reversals or cuts; None draws irregular gaps of
            ``gap_s`` from ``seed``.
        gap_s: (min, max) gap between random events (seconds).
        move_s: how long an object accelerates before it stops (seconds, at most 0.8 of the gap).
        seed: random seed of textures, paths and events.
        noise: standard deviation of the Gaussian grain added to every frame (grey levels, 0 = none).
    """

    duration_s: float = 3.0
    fps: float = 24.0
    width: int = 256
    height: int = 144
    n_objects: int = 3
    motion: str = "stops"
    events_s: tuple[float, ...] | None = None
    gap_s: tuple[float, float] = (0.35, 1.1)
    move_s: float = 0.4
    seed: int = 0
    noise: float = 0.0

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, got {self.motion!r}")
        if self.duration_s <= 0 or self.fps <= 0:
            raise ValueError(f"duration_s and fps must be > 0, got {self.duration_s}, {self.fps}")
        if self.width < 32 or self.height < 32 or self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even and >= 32, got {self.width}x{self.height}")
        if not 0 < self.gap_s[0] <= self.gap_s[1]:
            raise ValueError(f"gap_s must be (min, max) with 0 < min <= max, got {self.gap_s}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")

    @property
    def n_frames(self) -> int:
        return round(self.duration_s * self.fps)


def event_times(spec: MotionClipSpec) -> np.ndarray:
    """The event times (seconds), on the frame grid, inside ``(0, (n_frames - 2) / fps]``: stops,
    reversals or cuts (empty for "still" and "drift")."""
    if spec.motion not in EVENT_MOTIONS:
        return np.zeros(0)
    last = (spec.n_frames - 2) / spec.fps  # a stop needs a frame after it to be seen
    if spec.events_s is not None:
        ev = np.asarray(spec.events_s, dtype=np.float64)
    else:
        rng = np.random.default_rng(spec.seed + 7919)
        ev, t = [], 0.0
        t += spec.move_s + rng.uniform(0.05, 0.3)
        while t <= last:
            ev.append(t)
            t += rng.uniform(*spec.gap_s)
        ev = np.asarray(ev)
    ev = np.round(ev * spec.fps) / spec.fps
    return ev[(ev > 0) & (ev <= last)]


def _texture(rng: np.random.Generator, h: int, w: int, blur: float, lo: int, hi: int) -> np.ndarray:
    noise = rng.random((h, w, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), blur)
    noise = (noise - noise.min()) / max(1e-6, float(noise.max() - noise.min()))
    return (lo + (hi - lo) * noise).astype(np.uint8)


def _paths(spec: MotionClipSpec, events: np.ndarray, rng: np.random.Generator, side: int) -> np.ndarray:
    """Top-left positions ``(n_frames, n_objects, 2)`` (x, y) in pixels, float."""
    n, k = spec.n_frames, spec.n_objects
    t = np.arange(n) / spec.fps
    start = np.stack([rng.uniform(0, spec.width - side, k), rng.uniform(0, spec.height - side, k)], axis=1)
    pos = np.repeat(start[None], n, axis=0)
    if spec.motion == "drift":
        pos += np.stack([t * 0.15 * spec.height, t * 0.0], axis=1)[:, None, :]
        return pos
    prev_stop = np.full(k, -np.inf)
    for e_idx, ev in enumerate(events):
        obj = e_idx % k
        move = min(spec.move_s, 0.8 * (ev - max(prev_stop[obj], 0.0)) if np.isfinite(prev_stop[obj]) else spec.move_s)
        move = max(move, 2.0 / spec.fps)
        here = pos[round(ev * spec.fps), obj]
        dist = rng.uniform(0.15, 0.3) * spec.height
        angle = rng.uniform(0, 2 * np.pi)
        delta = dist * np.array([np.cos(angle), np.sin(angle)])
        target = here + delta
        lim = np.array([spec.width - side, spec.height - side])
        for d in range(2):  # reflect a target that would leave the picture
            if not 0 <= target[d] <= lim[d]:
                delta[d] = -delta[d]
        target = np.clip(here + delta, 0, lim)
        s = np.clip((t - (ev - move)) / move, 0.0, 1.0) ** 2  # speed rises linearly, then stops dead
        pos[:, obj] = pos[:, obj] + (target - here)[None, :] * s[:, None]
        prev_stop[obj] = ev
    return pos


def render_clip(spec: MotionClipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Render ``spec``: frames ``(T, H, W, 3)`` uint8 RGB and the event times in seconds (stops,
    reversals, or for ``"cut"`` the first frame of each new shot)."""
    if spec.motion in BENCH_MOTIONS:
        frames, events = _BENCH_RENDERERS[spec.motion](spec, event_times(spec))
    else:
        frames, events = _render_stops(spec)
    if spec.noise > 0:
        grain = np.random.default_rng(spec.seed + 104729)
        for i in range(len(frames)):
            noisy = frames[i] + grain.normal(0.0, spec.noise, frames[i].shape).astype(np.float32)
            frames[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return frames, events


def _render_stops(spec: MotionClipSpec) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    events = event_times(spec)
    background = _texture(rng, spec.height, spec.width, 3.0, 40, 120)
    side = max(8, spec.height // 4)
    sprites = [_texture(rng, side, side, 4.0, 110, 255) for _ in range(spec.n_objects)]
    pos = _paths(spec, events, rng, side)
    frames = np.empty((spec.n_frames, spec.height, spec.width, 3), dtype=np.uint8)
    grain = np.random.default_rng(spec.seed + 1)
    for i in range(spec.n_frames):
        img = background.copy()
        if spec.motion == "drift":
            shift = pos[i, 0, 0] - pos[0, 0, 0]
            m = np.float32([[1, 0, shift], [0, 1, 0]])
            img = cv2.warpAffine(background, m, (spec.width, spec.height), borderMode=cv2.BORDER_REFLECT)
        else:
            for obj, sprite in enumerate(sprites):
                x, y = pos[i, obj]
                # sub-pixel placement: the sprite is resampled at its exact position
                m = np.float32([[1, 0, x], [0, 1, y]])
                mask = cv2.warpAffine(np.ones((side, side), np.float32), m, (spec.width, spec.height))
                layer = cv2.warpAffine(sprite, m, (spec.width, spec.height))
                img = (img * (1 - mask[..., None]) + layer * mask[..., None]).astype(np.uint8)
        if spec.motion == "still":
            img = np.clip(img.astype(np.int16) + grain.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
        frames[i] = img
    return frames, events


# --- the benchmark's kinds ------------------------------------------------------------------------------


def _place(img: np.ndarray, sprite: np.ndarray, x: float, y: float) -> np.ndarray:
    """``img`` with ``sprite`` pasted at sub-pixel top-left ``(x, y)`` (resampled, edges anti-aliased)."""
    h, w = img.shape[:2]
    side_h, side_w = sprite.shape[:2]
    m = np.float32([[1, 0, x], [0, 1, y]])
    mask = cv2.warpAffine(np.ones((side_h, side_w), np.float32), m, (w, h))[..., None]
    layer = cv2.warpAffine(sprite, m, (w, h))
    return (img * (1 - mask) + layer * mask).astype(np.uint8)


def _crop(big: np.ndarray, x: float, y: float, w: int, h: int) -> np.ndarray:
    """The ``w x h`` window of ``big`` whose top-left corner is at sub-pixel ``(x, y)``."""
    m = np.float32([[1, 0, -x], [0, 1, -y]])
    return cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _scene(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured backdrop, structure at two scales (fine grain and larger blobs) between two random
    colours, full contrast; uint8 RGB."""
    lum = 0.35 * rng.random((h, w), dtype=np.float32)
    lum = cv2.GaussianBlur(lum, (0, 0), 1.5) + cv2.GaussianBlur(rng.random((h, w), dtype=np.float32), (0, 0), 8.0)
    lo, hi = np.percentile(lum, (2, 98))
    lum = np.clip((lum - lo) / max(1e-6, float(hi - lo)), 0.0, 1.0)[..., None]
    dark, light = rng.integers(10, 110, 3), rng.integers(140, 250, 3)
    return (dark + (light - dark) * lum).astype(np.uint8)


def _sprite(rng: np.random.Generator, side: int, flat: bool) -> np.ndarray:
    if flat:  # a plain coloured square, as procedural clips draw (its inside has no texture to track)
        colour = rng.integers(150, 256, 3)
        return np.broadcast_to(colour.astype(np.uint8), (side, side, 3)).copy()
    return _texture(rng, side, side, 4.0, 110, 255)


def _legs(spec: MotionClipSpec, events: np.ndarray, rng: np.random.Generator) -> list[tuple[float, float, bool]]:
    """Movements ``(start_s, stop_s, ease_in)``: each ends dead at an event (or after the clip's end)
    and starts after at least one frame interval at rest from the previous one."""
    frame = 1.0 / spec.fps
    stops = list(events)
    after = (events[-1] if events.size else spec.move_s) + rng.uniform(*spec.gap_s)
    stops.append(max(after, (spec.n_frames - 1) * frame))  # the motion after the last event runs past the end
    legs, prev = [], None
    for stop in stops:
        if prev is None:
            start = max(0.0, stop - rng.uniform(0.4, 0.9))
        else:
            rest = frame * (1 + int(rng.integers(0, max(1, round(0.3 * spec.fps)))))  # one frame to 0.3 s
            start = prev + min(rest, max(frame, 0.4 * (stop - prev)))
        legs.append((start, stop, bool(rng.random() < 0.5)))
        prev = stop
    return legs


def _leg_positions(spec: MotionClipSpec, legs, start_xy: np.ndarray, lim: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(T, 2)`` positions (x, y) of one subject moving along ``legs`` inside ``[0, lim]``, each leg
    reaching a top speed of ``PEAK_SPEED`` (frame heights per second) just before it stops."""
    t = np.arange(spec.n_frames) / spec.fps
    pos = np.repeat(start_xy[None].astype(np.float64), spec.n_frames, axis=0)
    here = start_xy.astype(np.float64)
    for start, stop, ease in legs:
        peak = rng.uniform(*PEAK_SPEED) * spec.height  # pixels per second at the end of the leg
        d = peak * (stop - start) / (2.0 if ease else 1.0)
        angle = rng.uniform(0, 2 * np.pi)
        delta = d * np.array([np.cos(angle), np.sin(angle)])
        for k in range(2):  # turn back a leg that would leave the picture
            if not 0 <= here[k] + delta[k] <= lim[k]:
                delta[k] = -delta[k]
        target = np.clip(here + delta, 0, lim)
        u = np.clip((t - start) / max(stop - start, 1e-9), 0.0, 1.0)
        s = u**2 if ease else u  # constant speed, or speeding up; either way it stops dead
        moving = t > start
        pos[moving] = here + (target - here)[None, :] * s[moving, None]
        here = target
    return pos


def _render_halt(spec: MotionClipSpec, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    background = _scene(rng, h, w)
    side = max(8, h // 4)
    flat = spec.seed % 2 == 1
    k = max(1, spec.n_objects)
    sprites = [_sprite(rng, side, flat) for _ in range(k)]
    lim = np.array([w - side, h - side], dtype=np.float64)
    starts = np.stack([rng.uniform(0, lim[0], k), rng.uniform(0, lim[1], k)], axis=1)
    legs = _legs(spec, events, rng)
    paths = []
    for obj in range(k):  # the legs are dealt out in turn: one object moves at a time
        mine = legs[obj::k]
        paths.append(_leg_positions(spec, mine, starts[obj], lim, rng))
    frames = np.empty((spec.n_frames, h, w, 3), dtype=np.uint8)
    for i in range(spec.n_frames):
        img = background.copy()
        for obj in range(k):
            img = _place(img, sprites[obj], *paths[obj][i])
        frames[i] = img
    return frames, events


def _render_pan(spec: MotionClipSpec, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    big = _scene(rng, 3 * h, w + 2 * h)
    lim = np.array([2 * h, 2 * h], dtype=np.float64)
    legs = _legs(spec, events, rng)
    path = _leg_positions(spec, legs, lim / 2, lim, rng)
    frames = np.stack([_crop(big, x, y, w, h) for x, y in path])
    return frames, events


def _render_bounce(spec: MotionClipSpec, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    background = _scene(rng, h, w)
    wall = max(4, h // 40)
    side = max(8, h // 4)
    ball = _sprite(rng, side, (spec.seed // 2) % 2 == 1)
    span = rng.uniform(0.3, 0.5) * h  # the ball's travel between the two walls: 0.27-1.1 heights/s
    vertical = spec.seed % 2 == 1  # between floor and ceiling, else between a left and a right wall
    size = h if vertical else w
    near = rng.uniform(wall, size - wall - side - span)  # the ball's coordinate against the first wall
    far = near + span
    lo, hi = int(round(near)) - wall, int(round(far)) + side
    if vertical:
        background[max(0, lo) : lo + wall] = 230
        background[hi : hi + wall] = 230
    else:
        background[:, max(0, lo) : lo + wall] = 230
        background[:, hi : hi + wall] = 230
    t = np.arange(spec.n_frames) / spec.fps
    # contacts: the events, plus one before the clip and one after its last frame
    first = events[0] if events.size else 0.5
    contacts = [first - rng.uniform(*spec.gap_s), *events]
    contacts.append(max(contacts[-1] + rng.uniform(*spec.gap_s), t[-1] + 0.5 / spec.fps))
    c = np.asarray(contacts)
    j = np.clip(np.searchsorted(c, t, side="right") - 1, 0, len(c) - 2)
    u = (t - c[j]) / (c[j + 1] - c[j])  # 0 at the last contact, 1 at the next: constant speed per leg
    outward = (j % 2 == 0) == bool(rng.random() < 0.5)
    along = np.where(outward, near + span * u, far - span * u)
    other_size = w if vertical else h
    across = rng.uniform(0.3, 0.5) * (other_size - side) + rng.uniform(-0.04, 0.04) * h * t  # a slow drift
    x, y = (across, along) if vertical else (along, across)
    frames = np.empty((spec.n_frames, h, w, 3), dtype=np.uint8)
    for i in range(spec.n_frames):
        frames[i] = _place(background.copy(), ball, x[i], y[i])
    return frames, events


def _render_cut(spec: MotionClipSpec, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    side = max(8, h // 5)
    scenes = [_scene(rng, 2 * h, w + h) for _ in range(3)]
    cut_frames = np.round(events * spec.fps).astype(int)
    shot_of = np.searchsorted(cut_frames, np.arange(spec.n_frames), side="right")
    frames = np.empty((spec.n_frames, h, w, 3), dtype=np.uint8)
    scene = -1
    for shot in range(len(cut_frames) + 1):
        idx = np.flatnonzero(shot_of == shot)
        if idx.size == 0:
            continue
        scene = int((scene + 1 + rng.integers(0, 2)) % len(scenes))  # never the previous scene again
        tt = (idx - idx[0]) / spec.fps
        speed, angle = rng.uniform(0.05, 0.35) * h, rng.uniform(0, 2 * np.pi)
        cam = np.array([h / 2, h / 2]) + np.outer(tt, speed * np.array([np.cos(angle), np.sin(angle)]))
        sprite = _sprite(rng, side, bool(rng.random() < 0.5))
        o_speed, o_angle = rng.uniform(0.1, 0.3) * h, rng.uniform(0, 2 * np.pi)
        obj = np.array([(w - side) / 2, (h - side) / 2]) + np.outer(tt, o_speed * np.array([np.cos(o_angle), np.sin(o_angle)]))
        for n, i in enumerate(idx):
            frames[i] = _place(_crop(scenes[scene], *cam[n], w, h), sprite, *obj[n])
    return frames, events


_BENCH_RENDERERS = {"halt": _render_halt, "bounce": _render_bounce, "pan": _render_pan, "cut": _render_cut}


def match_events(detected_s, truth_s, tol_s: float) -> tuple[int, int, int]:
    """One-to-one matching of detected to true event times, closest pairs first, each pair at most
    ``tol_s`` apart: ``(hits, false_alarms, misses)``."""
    det = np.asarray(detected_s, dtype=np.float64).ravel()
    tru = np.asarray(truth_s, dtype=np.float64).ravel()
    if det.size == 0 or tru.size == 0:
        return 0, int(det.size), int(tru.size)
    dist = np.abs(det[:, None] - tru[None, :])
    pairs = np.argwhere(dist <= tol_s + 1e-9)
    order = np.argsort(dist[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_d, used_t = set(), set()
    for di, ti in pairs[order]:
        if di not in used_d and ti not in used_t:
            used_d.add(di)
            used_t.add(ti)
    hits = len(used_d)
    return hits, int(det.size) - hits, int(tru.size) - hits
