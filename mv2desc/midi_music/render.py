"""An arrangement -> audio, through the FluidSynth command line and a General MIDI soundfont; cached.

``fluidsynth -ni -F out.wav`` renders faster than real time with no audio device and no Python
binding (Debian's ``fluidsynth``); the soundfont is Debian's ``timgm6mb-soundfont`` (6 MB, GPL-2),
or any ``.sf2`` named by ``$MV2DESC_SOUNDFONT``. The rendered song is cut to ``spec.duration_s`` (a
50 ms fade at the cut), mixed to the channels asked for and mastered to ``mv2desc.synth.level_db``
of the song's energy (a soft limiter keeps peaks below 1), the same loudness scale as the sine
generator. Results are cached as 16-bit FLAC under :func:`cache_dir`, keyed by a hash of the spec,
the sample rate and channels, the generator's version, the soundfont's content and FluidSynth's
version; a cache hit returns the same samples a fresh render returned (both are decoded from the
same FLAC bytes).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mv2desc.errors import UserError
from mv2desc.midi_music.arrange import GENERATOR_VERSION, Arrangement, arrange
from mv2desc.midi_music.midi import to_midi_bytes
from mv2desc.midi_music.spec import ArrangementSpec

RENDER_VERSION = 1  # bump when the same notes would give different samples
APT_PACKAGES = "fluidsynth timgm6mb-soundfont"
APT_COMMAND = f"apt-get install {APT_PACKAGES}"
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SOUNDFONT_ENV = "MV2DESC_SOUNDFONT"
CACHE_ENV = "MV2DESC_MIDI_CACHE"
FLUIDSYNTH_GAIN = 0.4
FADE_S = 0.05
POLYPHONY = 128  # voices; the oldest releasing voice is stolen beyond it (bounds the render time)
RENDER_TIMEOUT_S = 600


@dataclass(frozen=True)
class Synth:
    """The synthesiser a render uses: the ``fluidsynth`` binary, its version, the soundfont and its hash."""

    binary: str
    version: str
    soundfont: Path
    soundfont_sha256: str


@dataclass(frozen=True)
class Rendered:
    audio: np.ndarray  # (n,) float32 for 1 channel, (2, n) for 2
    sample_rate: int
    arrangement: Arrangement
    cache_path: Path | None
    from_cache: bool


def _missing(what: str) -> UserError:
    return UserError(f"the MIDI music generator needs FluidSynth and a General MIDI soundfont, and {what}; install them with "
                     f"'{APT_COMMAND}' as root (bash scripts/setup.sh does it) or set {SOUNDFONT_ENV} to a .sf2 file")


def synth() -> Synth:
    """The installed synthesiser, or a one-line :class:`UserError` naming the apt command."""
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise _missing("the 'fluidsynth' program is not on PATH")
    override = os.environ.get(SOUNDFONT_ENV)
    font = Path(override).expanduser() if override else DEFAULT_SOUNDFONT
    if not font.is_file():
        raise _missing(f"the soundfont {font} is missing" + (f" (from {SOUNDFONT_ENV})" if override else ""))
    st = font.stat()
    return Synth(binary, _version(binary), font, _file_sha256(str(font), st.st_size, st.st_mtime_ns))


@lru_cache(maxsize=8)
def _version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _missing(f"'{binary} --version' failed ({exc})") from exc
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """``$MV2DESC_MIDI_CACHE``, else ``midi_music/`` under ``$MV2DESC_CACHE`` or ``~/.cache/mv2desc``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("MV2DESC_CACHE", Path.home() / ".cache" / "mv2desc")).expanduser() / "midi_music"


def cache_key(spec: ArrangementSpec, sample_rate: int, channels: int, s: Synth) -> str:
    payload = {"spec": json.loads(spec.canonical_json()), "generator": GENERATOR_VERSION, "render": RENDER_VERSION,
               "sample_rate": int(sample_rate), "channels": int(channels), "fluidsynth": s.version, "soundfont": s.soundfont_sha256}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]


def render(spec: ArrangementSpec, sample_rate: int = 22050, *, channels: int = 1, cache: bool = True,
           cache_root: str | os.PathLike | None = None) -> np.ndarray:
    """``spec`` as audio: (n,) float32 (``channels=1``) or (2, n), n = round(duration_s * sample_rate)."""
    return render_song(spec, sample_rate, channels=channels, cache=cache, cache_root=cache_root).audio


def render_song(spec: ArrangementSpec, sample_rate: int = 22050, *, channels: int = 1, cache: bool = True,
                cache_root: str | os.PathLike | None = None) -> Rendered:
    """Like :func:`render`, with the arrangement (its ``truth()``) and where the audio is cached."""
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    if not 8000 <= sample_rate <= 96000:
        raise ValueError(f"sample_rate must be in [8000, 96000], got {sample_rate}")
    s = synth()
    arr = arrange(spec)
    path = Path(cache_root).expanduser() if cache_root is not None else cache_dir()
    path = path / f"{cache_key(spec, sample_rate, channels, s)}.flac"
    if cache and path.is_file():
        try:
            return Rendered(_decode(path.read_bytes(), channels), sample_rate, arr, path, True)
        except Exception:  # noqa: BLE001 - an unreadable cache entry is rendered again
            pass
    y = _master(_run_fluidsynth(to_midi_bytes(arr), sample_rate, s), spec, sample_rate, channels)
    data = _encode(y, sample_rate)
    if cache:
        from mv2desc.atomic import atomic_write_bytes

        try:
            atomic_write_bytes(path, data)
        except OSError:  # a read-only cache still renders
            path = None
    return Rendered(_decode(data, channels), sample_rate, arr, path if cache else None, False)


def render_midi(midi: bytes, spec: ArrangementSpec, sample_rate: int = 22050, *, channels: int = 1) -> np.ndarray:
    """Standard MIDI File bytes (e.g. an arrangement whose tempo map or parts a benchmark edited) rendered and
    mastered exactly as :func:`render` does (cut to ``spec.duration_s``, ``spec.energy``'s level); not cached."""
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    y = _master(_run_fluidsynth(midi, sample_rate, synth()), spec, sample_rate, channels)
    return y[:, 0].copy() if channels == 1 else np.ascontiguousarray(y.T)


def render_many(specs: list[ArrangementSpec], sample_rate: int = 22050, *, channels: int = 1, workers: int | None = None,
                cache: bool = True, cache_root: str | os.PathLike | None = None) -> list[np.ndarray]:
    """Several songs, ``workers`` FluidSynth processes at a time (default: the CPUs this process may use)."""
    n = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if n == 1 or len(specs) <= 1:
        return [render(sp, sample_rate, channels=channels, cache=cache, cache_root=cache_root) for sp in specs]
    with ThreadPoolExecutor(max_workers=n) as pool:  # the work is in the subprocesses
        return list(pool.map(lambda sp: render(sp, sample_rate, channels=channels, cache=cache, cache_root=cache_root), specs))


def _run_fluidsynth(midi: bytes, sample_rate: int, s: Synth) -> np.ndarray:
    """(n, 2) float32 as FluidSynth renders it (longer than the song: it lets the last notes ring)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="mv2desc-fluidsynth-") as tmp:
        mid, wav = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        mid.write_bytes(midi)
        cmd = [s.binary, "-ni", "-q", "-g", str(FLUIDSYNTH_GAIN), "-r", str(int(sample_rate)), "-O", "float", "-T", "wav",
               "-C", "0", "-o", f"synth.polyphony={POLYPHONY}", "-F", str(wav), str(s.soundfont), str(mid)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"fluidsynth did not finish rendering within {RENDER_TIMEOUT_S} s") from exc
        if out.returncode != 0 or not wav.is_file():
            tail = (out.stderr or out.stdout).strip().splitlines()
            raise UserError(f"fluidsynth failed (exit {out.returncode}): {tail[-1] if tail else 'no output'}")
        y, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise UserError(f"fluidsynth rendered at {sr} Hz instead of {sample_rate} Hz")
    return y


def _master(y: np.ndarray, spec: ArrangementSpec, sample_rate: int, channels: int) -> np.ndarray:
    """(n, 2) -> (n, channels): cut to the song's length with a short fade, at the energy's RMS level."""
    from mv2desc.synth import level_db

    n = int(round(spec.duration_s * sample_rate))
    y = y[:n].astype(np.float64)
    if y.shape[0] < n:
        y = np.concatenate([y, np.zeros((n - y.shape[0], y.shape[1]))])
    if y.shape[1] == 1:
        y = np.repeat(y, 2, axis=1)
    fade = min(n, int(FADE_S * sample_rate))
    if fade:
        y[n - fade:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade)))[:, None]
    if channels == 1:
        y = y[:, :2].mean(axis=1, keepdims=True)
    target = 10 ** (level_db(spec.energy) / 20)
    for _ in range(4):  # the limiter lowers the RMS a little: converge on the target
        rms = float(np.sqrt(np.mean(y**2))) or 1.0
        y = 0.98 * np.tanh(y * (target / rms) / 0.98)
    return y.astype(np.float32)


def _encode(y: np.ndarray, sample_rate: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _decode(data: bytes, channels: int) -> np.ndarray:
    import soundfile as sf

    y, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    if y.shape[1] != channels:
        raise ValueError(f"cached audio has {y.shape[1]} channels, expected {channels}")
    return np.ascontiguousarray(y[:, 0]) if channels == 1 else np.ascontiguousarray(y.T)
