"""Beat synchronisation: music beats, visual beats, monotonic matching, time warps, sync metrics.

Music beats come from :mod:`mv2desc.beats` and every decode/encode from :mod:`mv2desc.media`.

Modules (one job each):

* :mod:`~mv2desc.sync.config` — validated settings (``SyncConfig`` and its parts);
* :mod:`~mv2desc.sync.flow` / :mod:`~mv2desc.sync.visual_beats` — DIS optical flow -> impact envelope -> visual beats;
* :mod:`~mv2desc.sync.matching` — DP matcher and the greedy / uniform baselines;
* :mod:`~mv2desc.sync.warp` — piecewise-linear monotonic warps and frame resampling;
* :mod:`~mv2desc.sync.plan` — clip segments on the song, cut on downbeats;
* :mod:`~mv2desc.sync.metrics` — BAS (visual / music conventions), BCS, BHS;
* :mod:`~mv2desc.sync.render` — warped frames -> MP4 through :mod:`mv2desc.media.video`;
* :mod:`~mv2desc.sync.engine` — ``sync_videos`` end to end; :mod:`~mv2desc.sync.score` — ``score_video``;
* :mod:`~mv2desc.sync.synth_video` — procedural clips with known visual beats (tests, benchmarks).
"""
