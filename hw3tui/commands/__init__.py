"""hw3tui's sub-commands, one module per family; torch is imported inside commands only."""
