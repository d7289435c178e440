"""A tiny service used only to exercise the platform mechanisms against real infrastructure."""
