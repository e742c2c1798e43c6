"""The offline runtime: a simulated control plane, admission and a loopback gateway."""
