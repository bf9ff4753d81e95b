"""Song structure: sections on bar lines, labelled by repetition and named (see :mod:`mv2desc.structure.analysis`)."""

from mv2desc.structure.analysis import NAMES, Section, Structure, analyse_structure
from mv2desc.structure.config import StructureConfig

__all__ = ["NAMES", "Section", "Structure", "StructureConfig", "analyse_structure"]
