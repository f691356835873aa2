"""Scheduled and long-running jobs, each runnable as `python -m jobs.<name>`."""
