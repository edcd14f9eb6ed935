"""The machine: which device, precision and memory layout a run uses (`runtime`), measured on
throwaway copies when asked (`probe`, cached per machine in `probe_cache`), and how much memory
is free (`memory`)."""
