#!/usr/bin/env bash
# One-shot set-up on a fresh machine: a virtualenv in .venv with the pinned set (CPU torch).
# Idempotent: a second run only checks. GPU users: see README "GPU install".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${MV2DESC_VENV:-.venv}
# Debian packages the tests need: WordNet 3.0 for nltk's METEOR (mv2desc/metrics/wordnet.py copies it).
# Installed only when missing; needs root (CI runs as root), otherwise says what to run.
apt_pkgs="wordnet-base wordnet-sense-index"
if [ ! -f /usr/share/wordnet/index.sense ] || [ ! -f /usr/share/wordnet/data.noun ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] apt: installing $apt_pkgs (WordNet for METEOR)"
    log=$(mktemp)
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $apt_pkgs; } >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"
      echo "[setup] ERROR: apt-get install $apt_pkgs failed" >&2
      exit 1
    fi
    rm -f "$log"
  else
    echo "[setup] WARNING: METEOR needs WordNet: run 'sudo apt-get install $apt_pkgs' (or set MV2DESC_WORDNET_DIR)" >&2
  fi
fi
# FluidSynth and a General MIDI soundfont (TimGM6mb, 6 MB, GPL-2) render the synthetic training music
# (mv2desc/midi_music, behind `mv2desc data example` and the demo). Same rule: installed when missing, as root.
midi_pkgs="fluidsynth timgm6mb-soundfont"
if ! command -v fluidsynth >/dev/null || [ ! -f /usr/share/sounds/sf2/TimGM6mb.sf2 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] apt: installing $midi_pkgs (the MIDI music generator)"
    log=$(mktemp)
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $midi_pkgs; } >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"
      echo "[setup] ERROR: apt-get install $midi_pkgs failed" >&2
      exit 1
    fi
    rm -f "$log"
  else
    echo "[setup] WARNING: the synthetic music of 'data example' and the demo needs FluidSynth: run 'sudo apt-get install $midi_pkgs' (or set MV2DESC_SOUNDFONT to a General MIDI .sf2)" >&2
  fi
fi
stamp="$VENV/.mv2desc-installed"
want=$(cat pyproject.toml setup.py requirements/constraints.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[setup] $VENV is up to date"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# torch first and pinned: with nothing installed, an unpinned torch would pull several GB of CUDA wheels.
quiet() { { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2; }  # local-index noise
"$VENV/bin/pip" install --quiet --no-compile torch==2.13.0 2> >(quiet)
# madmom (the accurate beat tracker) is an extra: its network weights are CC BY-NC-SA 4.0.
"$VENV/bin/pip" install --quiet --no-compile -c requirements/constraints.txt -e ".[dev,madmom]" 2> >(quiet)
# torchvision breaks transformers' Qwen-VL imports and diffusers' SVD pipeline here (see docs).
if "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('torchvision') is None)"; then
  echo "[setup] ERROR: torchvision is installed in $VENV; uninstall it (pip uninstall -y torchvision)" >&2
  exit 1
fi
# Byte-compile once here (pip ran with --no-compile, and machines that set PYTHONDONTWRITEBYTECODE never
# cache it): without .pyc files every process recompiles torch/transformers sources, ~9 s per start.
# A few vendored Python 2 files in third-party packages do not compile; they are never imported.
echo "[setup] byte-compiling $VENV (once)"
"$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null 2>&1 || true
echo "$want" > "$stamp"
echo "[setup] done: $("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)')"
echo "[setup] madmom installed: its beat-tracking network weights are CC BY-NC-SA 4.0 (non-commercial); for a licence-clean install use: pip install -e .  (tracker 'auto' then uses librosa)"
