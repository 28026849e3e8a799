"""Training: Algorithm 1, optimisers and schedules, checkpoints, logs, run directories."""
