"""scalecli: compute-optimal planning under published neural scaling laws."""

__version__ = "0.1.0"
