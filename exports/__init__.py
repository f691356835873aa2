"""Export builders: pure functions from data to file bytes (PDF, Excel, ZIP)."""
