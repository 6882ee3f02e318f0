"""Test plugins for stoq's own tests; installed into the test environments only."""
