"""Load ganzoo's test kit (fixtures and the conformance suite)."""

pytest_plugins = ["ganzoo.testing"]
