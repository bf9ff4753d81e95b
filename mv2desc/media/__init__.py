"""The one media layer: every decode and encode of the product goes through here (PyAV).

* :mod:`~mv2desc.media.audio` — decode any audio (or a video's soundtrack) to float32, mono or
  multi-channel, resampled; the documented downmix and level normalisation; encode audio files and
  soundtracks (one AAC/MP3/... encoder).
* :mod:`~mv2desc.media.video` — probe, decode (downscaled, grey, or at chosen times) and write
  H.264 video with an interleaved soundtrack.

Both raise :class:`mv2desc.errors.MediaError` with a machine-readable ``reason``.
"""
