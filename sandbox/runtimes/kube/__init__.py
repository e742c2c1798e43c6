"""The real runtimes: kind or a cluster you bring, through the kube client, kind, helm, kubectl."""
