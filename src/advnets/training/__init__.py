"""Training: the generic loop (Algorithm 1's outer loop), optimisers and schedules, processes."""
