"""Fixtures for the dashboard tests: the node tests' private compile cache."""

from tests.node.conftest import private_compile_cache  # noqa: F401  (re-exported fixture)
