"""Chunked safetensors checkpoints as bytes: the header check, the chunk writer, locate, verify
and join. torch-free, and never imports the engine (`hw3tui verify` and `join` stay fast)."""
