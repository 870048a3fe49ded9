"""Voice-guided audio assistant for hand expressing breast milk."""

__version__ = "0.1.0"
