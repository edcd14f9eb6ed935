"""The Textual app: edit presets, launch runs as child processes, watch them live, compare them.

It never trains (nor imports torch) in its own process: runs are `hw3tui run` children in their
own process session, watched through their run directory (events.jsonl, status.json, log.txt).
"""
