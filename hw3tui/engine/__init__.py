"""The training engine: knows nothing of screens; emits events, writes the run directory.

Importing this package does not import torch; the modules that train do.
"""
