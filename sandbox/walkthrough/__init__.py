"""The walkthrough engine: runs a scenario's steps on a runtime and emits typed events."""
