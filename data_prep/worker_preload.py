"""What every worker of the dataset build imports and compiles, done once in the workers' fork server.

``data_prep.build`` starts its workers from a fork server (:func:`mv2desc.procs.fork_server_context`)
that imported this module: torch, transformers' CLAP, openSMILE, librosa and the builder's own modules,
with librosa's beat tracker compiled (its ``@guvectorize`` kernels compile at import, 1.9 CPU-s, and
one of them is not in numba's cache) and its cached numba functions loaded. Each worker inherits them
instead of importing and compiling them itself. The server runs no torch operation, so no OpenMP
thread pool is forked.
"""

from __future__ import annotations

import librosa.beat  # noqa: F401
import librosa.feature  # noqa: F401
import librosa.onset  # noqa: F401
import opensmile  # noqa: F401
import transformers.models.clap.modeling_clap  # noqa: F401

import data_prep.process_clip  # noqa: F401
from data_prep.build import warm_up_librosa

warm_up_librosa()
