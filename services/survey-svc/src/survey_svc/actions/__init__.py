"""actions domain."""
