"""questionnaires domain."""
