"""Where the gateway runs: the Runtime seam (runtime.py, ports.py), the factory, sim/ and kube/."""
