"""Diffusion renderers through ``diffusers``: SDXL keyframes, SVD and Wan image-to-video clips.

Importing this package is cheap: ``torch``/``diffusers`` load only when a renderer loads its model.
Build renderers with :func:`mv2desc.mvgen.diffusion.registry.build_renderer` and
:func:`~mv2desc.mvgen.diffusion.registry.build_keyframes`.
"""
