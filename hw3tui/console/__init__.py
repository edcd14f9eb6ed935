"""Headless output: the log-friendly progress printer and rich tables for results."""
