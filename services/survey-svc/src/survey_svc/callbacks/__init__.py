"""callbacks domain."""
