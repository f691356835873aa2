"""Test data builders per domain; they go through the services so audit and events stay real."""
