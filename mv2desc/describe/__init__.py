"""Song -> segments -> MV descriptions (:mod:`~mv2desc.describe.song`), the segmenter
(:mod:`~mv2desc.describe.segments`) and the metadata-style describer (:mod:`~mv2desc.describe.metadata`)."""
