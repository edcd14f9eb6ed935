"""What runs achieved: evaluation reports and comparisons of runs (torch-free)."""
