"""A plugin module that cannot be imported (its dependency is missing)."""

import stoq_dependency_that_does_not_exist  # noqa: F401
