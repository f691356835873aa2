"""Reusable UI building blocks: every page is assembled from these."""
