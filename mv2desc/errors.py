"""Errors that the command line reports as one clear line (no traceback)."""


class UserError(Exception):
    """A problem with the user's input or configuration: printed as ``error: <message>``, exit code 2."""


class MediaError(Exception):
    """A media file that cannot be used: the one error of :mod:`mv2desc.media` (audio and video).

    ``reason`` is short and machine-readable (builders count skipped rows by it): ``missing_audio``,
    ``empty_audio``, ``corrupt_audio``, ``no_audio_stream``, ``too_short``, ``missing_video``,
    ``empty_video``, ``corrupt_video``, ``no_video_stream``; ``detail`` is for humans.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
