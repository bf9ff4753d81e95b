"""The ``procedural`` renderer: motion graphics with no weights, driven by the words and the audio.

* **palette**: colour words in the segment's description first, then the style sheet's palette;
* **shapes**: the first scene word picks a family (city -> blocks, ocean -> waves, night -> stars, ...;
  :data:`mv2desc.mvgen.words.SCENES`); more shapes when the segment is louder;
* **motif** (a segment of a song with sections, ``ClipRequest.motif``): the motif's place picks the
  shape family and its palette leads (the description's colours come after it): the background is lit
  by the motif's key colour, so every section with the same label (every chorus) has the same colours
  and shapes, and a section with another label looks different;
* **motion**: everything travels in one direction per interval, accelerating from rest, and **stops
  dead on a beat** (every ``stop_every`` beats; calm words halve the stops, intense words double them):
  a sharp deceleration that the sync engine's optical-flow detector reads as a visual beat. The
  direction changes at every stop; shapes move with parallax over a textured background so the flow
  is dense. Onsets flash the shapes' brightness (no motion), so they do not add visual beats.

Deterministic in the request (its seed included). numpy + OpenCV: about 2 ms a frame at 512x288.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import cv2
import numpy as np

from mv2desc.mvgen.config import ProceduralConfig
from mv2desc.mvgen.renderers.base import ClipRequest
from mv2desc.mvgen.words import colours_in, pace_of, scene_of

VERSION = 4  # bump when the drawing changes (part of every clip's cache key); 2: mirror-tiled texture; 3: uint8 compose (within 1 level);
# 4: stops on the frame grid
_REST = 0.15  # share of each interval spent at rest after a stop


def stop_times(request: ClipRequest, stop_every: int, stops_multiplier: float) -> np.ndarray:
    """Times (s from the clip start) where motion stops: every k-th beat of the request; a 0.5 s grid
    without beats; each on the frame nearest it (a stop between two frames is seen on one or the other,
    depending on how much of the last step is left). Always ends with the clip's end."""
    k = max(1, int(round(stop_every / stops_multiplier)))
    beats = np.asarray([b for b in request.beats_s if 0.05 < b < request.duration_s - 1e-3], dtype=np.float64)
    stops = beats[::k] if beats.size >= 2 else np.arange(0.5, request.duration_s - 1e-3, 0.5)
    stops = np.unique(np.round(stops * request.fps)) / request.fps
    stops = stops[(stops > 0) & (stops < request.duration_s - 1e-3)]
    return np.concatenate([stops, [request.duration_s]])


def camera_path(times: np.ndarray, stops: np.ndarray, travel_px: float, rng: np.random.Generator) -> np.ndarray:
    """``(T, 2)`` offset in pixels at each time: from rest, accelerating (quadratic), stopping dead at each stop."""
    edges = np.concatenate([[0.0], stops])
    angles = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.uniform(0.6 * np.pi, 1.4 * np.pi, len(stops)))
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1) * travel_px
    done = np.concatenate([[[0.0, 0.0]], np.cumsum(dirs, axis=0)])  # offset at each interval's start
    j = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(stops) - 1)
    span = np.maximum(edges[j + 1] - edges[j], 1e-6)
    u = np.clip((times - edges[j]) / span, 0.0, 1.0)
    f = np.clip((u - _REST) / (1.0 - _REST), 0.0, 1.0) ** 2
    return done[j] + f[:, None] * dirs[j]


def flash(times: np.ndarray, onsets: tuple[float, ...], decay_s: float = 0.08) -> np.ndarray:
    """``(T,)`` brightness gain 1..1.35: a quick flash at each onset."""
    gain = np.ones_like(times)
    for o in onsets:
        dt = times - o
        gain += 0.35 * np.where(dt >= 0, np.exp(-np.maximum(dt, 0) / decay_s), 0.0)
    return np.minimum(gain, 1.35)


def _background(palette: list[tuple[int, int, int]], w: int, h: int, texture: float, rng: np.random.Generator,
                key: tuple[int, int, int] | None = None):
    """(gradient ``(H, W, 3)`` float32, texture ``(2H, 2W)`` float32 in -1..1, mirror-tiled: no seams).
    ``key``: a motif's key colour, which lights the gradient (dark at the top, the colour itself below)."""
    if key is not None:
        dark, other = tuple(int(c * 0.35) for c in key), key
    else:
        dark = min(palette, key=sum)
        other = palette[1] if palette[0] == dark and len(palette) > 1 else palette[0]
    top = np.array(dark, np.float32)
    bottom = 0.55 * np.array(dark, np.float32) + 0.45 * np.array(other, np.float32)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    grad = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (h, w, 3)).copy()
    small = rng.standard_normal((max(4, h // 24), max(4, w // 24))).astype(np.float32)
    tex = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    tex = tex / (np.abs(tex).max() or 1.0)
    # mirrored, not repeated: a repeated noise tile shows its seams as lines when the camera moves over them
    tex = np.block([[tex, tex[:, ::-1]], [tex[::-1, :], tex[::-1, ::-1]]]) * 40.0 * texture
    return grad, tex


class ProceduralRenderer:
    """Motion graphics from a :class:`ClipRequest` (see the module docstring)."""

    name = "procedural"
    needs_keyframe = False

    def __init__(self, cfg: ProceduralConfig | None = None) -> None:
        self.cfg = cfg or ProceduralConfig()

    def identity(self) -> dict:
        return {"renderer": self.name, "version": VERSION, **asdict(self.cfg)}

    def render(self, request: ClipRequest) -> np.ndarray:
        """Frames ``(T, H, W, 3)`` uint8 RGB, ``T = round(duration_s * fps)``: :meth:`frames`, stacked."""
        return np.stack(list(self.frames(request)))

    def _motion(self, request: ClipRequest) -> tuple[np.ndarray, float]:
        """(stop times ending with the clip's end, distance travelled between two stops in pixels)."""
        stops_mult, travel_mult = pace_of(request.description)
        travel = self.cfg.travel * request.width * (0.4 + 0.6 * request.energy) * travel_mult
        return stop_times(request, self.cfg.stop_every, stops_mult), travel

    def motion_stops(self, request: ClipRequest) -> tuple[np.ndarray, np.ndarray]:
        """Where the clip's motion stops, as drawn (not detected): ``(times, strengths)``, seconds from the
        clip start and the speed each stop ends (the camera's, in frame heights per second). The clip's
        own end is not a stop. Lets the assembly plan the sync without decoding and analysing the clip."""
        stops, travel = self._motion(request)
        edges = np.concatenate([[0.0], stops])
        moving = np.maximum(np.diff(edges) * (1.0 - _REST), 1e-6)  # each interval's time in motion
        speed = 2.0 * travel / moving / request.height  # f(u) = u**2 from rest: twice the mean speed at the end
        return stops[:-1], speed[:-1]

    def frames(self, request: ClipRequest) -> Iterator[np.ndarray]:
        """The clip's frames one at a time, ``(H, W, 3)`` uint8 RGB, a new array each (see
        :func:`~mv2desc.mvgen.renderers.base.clip_frames`)."""
        cfg, w, h = self.cfg, request.width, request.height
        rng = np.random.default_rng(request.seed)
        if request.motif and request.palette:  # the motif's palette leads, its place picks the shapes
            palette = list(dict.fromkeys([*request.palette, *colours_in(request.description)]))[:6]
            scene = scene_of(request.motif, default=scene_of(request.description))
            key = tuple(request.palette[0])
        else:
            palette = (colours_in(request.description) + list(request.palette))[:6] or [(40, 40, 60), (240, 130, 40), (60, 170, 200)]
            scene = scene_of(request.description)
            key = None
        stops, travel = self._motion(request)
        n_frames = max(1, round(request.duration_s * request.fps))
        times = np.arange(n_frames) / request.fps
        cam = camera_path(times, stops, travel, rng)
        gain = flash(times, request.onsets_s)
        grad, tex = _background(palette, w, h, cfg.texture, rng, key)
        shapes = _Shapes(scene, palette, w, h, max(3, round(cfg.shapes * (0.5 + request.energy))), rng)
        grad_u8 = np.round(grad).astype(np.uint8)  # (H, W, 3)
        for i in range(n_frames):
            dx, dy = cam[i] * 0.5  # the background moves at half speed (parallax)
            ox, oy = int(np.floor(-dx)) % w, int(np.floor(-dy)) % h
            m = np.float32([[1, 0, -(ox + (-dx - np.floor(-dx)))], [0, 1, -(oy + (-dy - np.floor(-dy)))]])
            t = cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)  # (H, W) float32
            # gradient + texture, saturated to 0..255 in uint8 (OpenCV's saturating add/subtract: 4x less
            # time than float compose + clip + cast at 1280x720); the texture's positive and negative parts
            up = cv2.convertScaleAbs(cv2.max(t, 0.0))
            down = cv2.convertScaleAbs(cv2.min(t, 0.0))
            frame = cv2.subtract(cv2.add(grad_u8, cv2.merge([up, up, up])), cv2.merge([down, down, down]))
            shapes.draw(frame, cam[i], float(gain[i]))
            yield frame


class _Shapes:
    """A family of shapes with fixed positions, sizes, colours and parallax depths."""

    def __init__(self, scene: str, palette: list, w: int, h: int, n: int, rng: np.random.Generator) -> None:
        self.scene, self.w, self.h = scene, w, h
        n = n * 3 if scene == "stars" else n
        bright = sorted(palette, key=sum, reverse=True)
        colours = bright[: max(1, len(bright) - 1)]  # the darkest colour is the background
        self.pos = rng.uniform(0, 1, (n, 2)) * [w, h]
        self.size = rng.uniform(0.04, 0.14, n) * h * (0.3 if scene == "stars" else 1.0)
        self.depth = rng.uniform(0.6, 1.4, n)
        self.colour = np.array([colours[k % len(colours)] for k in range(n)], dtype=np.float32)
        self.angle = rng.uniform(0, 2 * np.pi, n)

    def draw(self, frame: np.ndarray, cam: np.ndarray, gain: float) -> None:
        w, h = self.w, self.h
        margin = float(self.size.max()) * 3
        xy = self.pos + cam[None, :] * self.depth[:, None]
        xy[:, 0] = np.mod(xy[:, 0] + margin, w + 2 * margin) - margin
        xy[:, 1] = np.mod(xy[:, 1] + margin, h + 2 * margin) - margin
        for (x, y), s, c, a in zip(xy, self.size, self.colour, self.angle):
            col = tuple(float(v) for v in np.minimum(c * gain, 255))
            self._one(frame, x, y, s, col, a)

    def _one(self, frame: np.ndarray, x: float, y: float, s: float, col: tuple, a: float) -> None:
        aa, sh = cv2.LINE_AA, 4  # sub-pixel positions (4 fractional bits) keep slow motion smooth
        X, Y, S = int(x * 16), int(y * 16), max(16, int(s * 16))
        if self.scene in ("orbs", "stars"):
            cv2.circle(frame, (X, Y), S, col, -1, aa, sh)
            if self.scene == "orbs":
                cv2.circle(frame, (X, Y), S + 48, col, 2, aa, sh)
        elif self.scene in ("blocks", "trunks", "bars"):
            bw = S // {"blocks": 1, "trunks": 3, "bars": 2}[self.scene]
            bh = S * (2 if self.scene == "blocks" else 3)
            cv2.rectangle(frame, (X - bw, Y - bh), (X + bw, Y + bh), col, -1, aa, sh)
            cv2.rectangle(frame, (X - bw // 2, Y - bh // 2), (X, Y), tuple(v * 0.6 for v in col), -1, aa, sh)
        elif self.scene == "waves":
            xs = np.arange(-2, 11) * (self.w / 8)
            pts = np.stack([xs + x, y + s * np.sin(xs / self.w * 2 * np.pi * 2 + a)], axis=1)
            cv2.polylines(frame, [np.round(pts * 16).astype(np.int32)], False, col, max(2, int(s / 4)), aa, sh)
        else:  # shards
            pts = np.array([[np.cos(a + k * 2.1), np.sin(a + k * 2.1)] for k in range(3)]) * s * 1.5 + [x, y]
            cv2.fillPoly(frame, [np.round(pts * 16).astype(np.int32)], col, aa, sh)
