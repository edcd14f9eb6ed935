"""One run from preset to run folder: the `session` sets it up (new or resumed), `job` builds
model, optimizer and data, `loop` trains and evaluates epoch by epoch (`meter` keeps an epoch's
sums, `hyper` applies the per-epoch schedules), `recorder` writes the run folder, `state` saves
and restores everything a resume needs."""
