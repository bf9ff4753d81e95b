"""Packaging beyond what pyproject.toml can say: the top-level ``configs/`` and ``assets/`` folders ship
inside the wheel as package data of ``mv2desc_data`` (so ``pip install mv2desc`` runs the demo and every
preset). All metadata lives in pyproject.toml."""

from setuptools import find_packages, setup

CODE = find_packages(include=["mv2desc", "mv2desc.*", "data_prep", "data_prep.*", "train", "train.*", "infer", "infer.*"])
DATA = {"mv2desc_data.configs": "configs", "mv2desc_data.assets": "assets"}

setup(
    packages=[*CODE, "mv2desc_data", *DATA],
    package_dir={name: folder for name, folder in DATA.items()},
    package_data={"mv2desc": ["py.typed", "describe/rules.yaml"], **{name: ["**/*"] for name in DATA}},
    include_package_data=False,
)
