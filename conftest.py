"""Session-wide fixtures: one real PostgreSQL server and one real broker for the whole run."""

pytest_plugins = ["retailcare_shared.testing"]
