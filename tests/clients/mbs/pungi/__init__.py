"""Minimal stand-in for Fedora's Pungi, just enough for MBS to import.

module-build-service imports ``pungi.arch`` at import time (in
builder/KojiContentGenerator.py); Fedora's Pungi is not on PyPI (the PyPI
``pungi`` is an unrelated project).  The MBS GET API never calls it.
"""
