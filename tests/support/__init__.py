"""Helpers for integration tests: real processes on loopback."""
