"""Benchmarks: demo seeding, list queries and audit verification at realistic data sizes.

Run `python -m bench` (small and medium on SQLite, and on PostgreSQL when reachable) or
`python -m bench --size large` (1,000,000 contacts). Results are described in docs/performance.md.
"""
