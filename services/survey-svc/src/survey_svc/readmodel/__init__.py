"""readmodel domain."""
