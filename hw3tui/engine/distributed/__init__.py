"""Several processes as one run: the `World` of ranks and its votes (`world`), the process group
(`process_group`), a rank's failure told to the others (`rank_errors`), torchrun as the launcher
(`torchrun`) and the failures tests inject (`fault_injection`). Knows no Job: it agrees, the
training package decides."""
