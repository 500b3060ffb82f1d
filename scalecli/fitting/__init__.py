"""Fitting scaling laws to a CSV of training runs (``scale fit``).

Submodules import scipy; nothing here is imported on the ``scale plan`` path.
"""
