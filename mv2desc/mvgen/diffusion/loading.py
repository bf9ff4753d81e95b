"""What every diffusion renderer shares: device and dtype, loading a pipeline (a missing model is one
clear line, not a hub traceback), placement with optional CPU offload, seeded generators, and image
conversions at the renderer boundary (uint8 ``(H, W, 3)`` / ``(T, H, W, 3)`` RGB)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mv2desc.errors import UserError
from mv2desc.paths import resolve_repo_path

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)
DTYPE_NAMES = ("auto", "bfloat16", "float16", "float32")


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {DTYPE_NAMES}, got {dtype!r}")


def pick_device() -> torch.device:
    """CUDA when torch sees one, else CPU (the renderers run, slowly, on CPU: tests use tiny models)."""
    from mv2desc.devices import resolve_device

    return resolve_device("auto")


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``"auto"``: bfloat16 on CUDA (the weights' training precision, no fp16 overflow), float32 on CPU
    (CPU half-precision kernels are slow or missing)."""
    from mv2desc.devices import resolve_dtype

    check_dtype(dtype)
    return resolve_dtype(dtype, device)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def model_source(name_or_path: str) -> str:
    """A local folder (absolute, or relative to the cwd or the repository) or a hub id, unchanged."""
    p = resolve_repo_path(name_or_path)
    return str(p) if p.exists() else name_or_path


def _looks_local(name_or_path: str) -> bool:
    return name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1


def load_pipeline(pipeline_cls: type, name_or_path: str, *, dtype: torch.dtype | dict[str, torch.dtype], config_key: str,
                  **kwargs: Any) -> Any:
    """``pipeline_cls.from_pretrained(name_or_path, dtype=dtype)`` (``dtype`` may map component names, with
    a ``"default"``, to dtypes); a model that is not on this machine
    (we run hub-offline) or is not a ``pipeline_cls`` checkpoint becomes a one-line :class:`UserError`
    that names the model and the fix (``config_key`` is the setting to point at a local folder)."""
    source = model_source(name_or_path)
    fix = (f"download it on a machine with network (hf download {name_or_path} --local-dir DIR) and set "
           f"{config_key} to that folder")
    if _looks_local(source) and not Path(source).expanduser().exists():
        raise UserError(f"{pipeline_cls.__name__} model folder {source!r} does not exist: {fix}")
    if Path(source).is_dir() and not (Path(source) / "model_index.json").exists():
        raise UserError(f"{source!r} is not a diffusers pipeline folder (no model_index.json): {fix}")
    try:
        pipe = pipeline_cls.from_pretrained(source, dtype=dtype, **kwargs)
    except (OSError, ValueError) as exc:  # not cached / not a valid id / wrong pipeline kind
        reason = " ".join(str(exc).split())[:200]
        raise UserError(f"{pipeline_cls.__name__} model {name_or_path!r} cannot be loaded ({reason}): {fix}") from exc
    return pipe


def place(pipe: Any, device: torch.device, *, cpu_offload: bool) -> Any:
    """Move ``pipe`` to ``device``. ``cpu_offload`` (CUDA only) keeps each sub-model on the CPU until
    its turn, trading some speed for a much smaller GPU footprint (SVD on 24 GB, Wan 14B on 40-80 GB)."""
    pipe.set_progress_bar_config(disable=True)  # the pipeline reports progress per clip, not per step
    if cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload(device=device)
    else:
        if cpu_offload:
            log.info("cpu_offload applies to CUDA only: running on %s", device)
        pipe.to(device)
    return pipe


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator: diffusers draws the initial noise on it and moves it, so a seed gives the same
    noise on CPU and GPU and with or without offload (a clip's cache key does not depend on where it ran)."""
    import torch

    return torch.Generator(device="cpu").manual_seed(int(seed) % (2**63))


def fit_image(image: np.ndarray, width: int, height: int) -> Image.Image:
    """``(H, W, 3)`` uint8 -> PIL ``width`` x ``height``: centre-crop to the target aspect, then resize
    (a model's working size differs from the video's; cropping keeps shapes undistorted)."""
    from PIL import Image

    arr = as_uint8_image(image)
    h, w = arr.shape[:2]
    target = width / height
    if w / h > target:  # too wide: crop the sides
        cw = max(1, round(h * target))
        x0 = (w - cw) // 2
        arr = arr[:, x0:x0 + cw]
    elif w / h < target:  # too tall: crop top and bottom
        ch = max(1, round(w / target))
        y0 = (h - ch) // 2
        arr = arr[y0:y0 + ch]
    img = Image.fromarray(np.ascontiguousarray(arr))
    return img if img.size == (width, height) else img.resize((width, height), Image.Resampling.LANCZOS)


def as_uint8_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {arr.shape} {arr.dtype}")
    return arr


def to_uint8(frames: Any) -> np.ndarray:
    """Float images in [0, 1] (diffusers' ``output_type="np"``) -> uint8, rounded."""
    arr = np.asarray(frames, dtype=np.float32)
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 at the model's size -> the same frames at ``width`` x ``height``."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([np.asarray(fit_image(f, width, height)) for f in frames])


def library_version() -> str:
    """diffusers' version: part of every identity, since an upgrade may change the frames."""
    from importlib.metadata import version

    return version("diffusers")
