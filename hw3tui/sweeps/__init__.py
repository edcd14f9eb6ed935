"""Sweeps and run queues on Optuna: trials are ordinary `hw3tui run` processes (torch-free)."""
