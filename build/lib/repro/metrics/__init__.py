"""One sampler for every stage of every method: wall-clock, process-tree RSS, GPU memory."""
