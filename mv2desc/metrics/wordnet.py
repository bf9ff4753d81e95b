"""WordNet 3.0 for nltk's METEOR, offline: built once from the Debian packages into a cache folder.

nltk's downloader cannot reach its server here and no PyPI package ships the data, but Debian's
``wordnet-base`` + ``wordnet-sense-index`` hold the same WordNet 3.0 files as nltk's ``wordnet``
corpus. nltk needs them **copied** (nltk 3.10 rejects symlinks that leave its data root) into
``<nltk_data>/corpora/wordnet`` together with ``lexnames``, a fixed table Debian does not ship
(it is printed in the ``lexnames(5WN)`` man page).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mv2desc.atomic import new_dir_mode
from mv2desc.errors import UserError

DEBIAN_WORDNET = Path("/usr/share/wordnet")
APT_PACKAGES = ("wordnet-base", "wordnet-sense-index")
# the files nltk's WordNetCorpusReader opens
REQUIRED = tuple(f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")) + (
    "index.sense", "noun.exc", "verb.exc", "adj.exc", "adv.exc",
)
# WordNet's lexicographer files in file-number order (lexnames(5WN)): "<nn>\t<name>\t<syntactic category>"
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_COMPLETE = ".mv2desc-complete"


class WordNetMissing(UserError):
    """WordNet 3.0 is neither in nltk's data path nor installed where we can copy it from."""


def lexnames_table() -> str:
    """The ``lexnames`` file nltk's reader expects, generated from :data:`LEXNAMES`."""
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def default_cache_dir() -> Path:
    """``$MV2DESC_CACHE`` or ``~/.cache/mv2desc`` (the tiny-checkpoint cache uses the same root)."""
    return Path(os.environ.get("MV2DESC_CACHE", Path.home() / ".cache" / "mv2desc"))


def wordnet_source() -> Path:
    """The WordNet 3.0 ``dict`` folder to copy: ``$MV2DESC_WORDNET_DIR`` or Debian's; checked for completeness."""
    src = Path(os.environ.get("MV2DESC_WORDNET_DIR") or DEBIAN_WORDNET)
    missing = [name for name in REQUIRED if not (src / name).is_file()]
    if missing:
        raise WordNetMissing(
            f"METEOR needs WordNet 3.0 but {src} lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}: "
            f"install it with `apt-get install {' '.join(APT_PACKAGES)}` (scripts/setup.sh does this), "
            "or set MV2DESC_WORDNET_DIR to a WordNet 3.0 dict folder"
        )
    return src


def build_nltk_wordnet(cache_dir: str | Path | None = None) -> Path:
    """Return an nltk_data folder holding ``corpora/wordnet``; build it on first use (atomic, so
    concurrent processes are safe). Raises :class:`WordNetMissing` with the install command."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    data_dir = root / "nltk_data"
    target = data_dir / "corpora" / "wordnet"
    if (target / _COMPLETE).is_file():
        return data_dir
    src = wordnet_source()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    os.chmod(tmp, new_dir_mode())  # mkdtemp makes 0700: the published folder follows the umask
    try:
        for name in os.listdir(src):
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)  # real copies: nltk rejects symlinks out of its root
        (tmp / "lexnames").write_text(lexnames_table())
        (tmp / _COMPLETE).write_text(str(src) + "\n")
        if target.exists():  # a half-built folder from a killed run, or another process won the race
            if (target / _COMPLETE).is_file():
                return data_dir
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError:
        if not (target / _COMPLETE).is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return data_dir


def ensure_wordnet(cache_dir: str | Path | None = None) -> None:
    """Make ``nltk.corpus.wordnet`` loadable: keep a WordNet nltk already finds, else add ours to ``nltk.data.path``."""
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
        return
    except LookupError:
        pass
    data_dir = str(build_nltk_wordnet(cache_dir))
    if data_dir not in nltk.data.path:
        nltk.data.path.insert(0, data_dir)
