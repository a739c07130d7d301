"""Tests of the core_banking context."""
