"""What ``streamgrade simulate`` prints and writes: the trace of a run, and its delivery into a sink."""
