"""The configs and assets that ship with mv2desc, as package data.

In a checkout, ``configs/`` and ``assets/`` at the top of the repository are the editable source; a
built wheel carries them here as ``mv2desc_data/configs`` and ``mv2desc_data/assets`` (``setup.py``
maps the two folders into this package), and :mod:`mv2desc.paths` finds them through
``importlib.resources`` when the repository is not there.
"""
