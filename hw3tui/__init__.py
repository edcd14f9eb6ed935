"""hw3tui: run and tune image-classifier fine-tuning experiments from a terminal."""

__version__ = "0.1.0"
