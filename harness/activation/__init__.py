"""Importing and activating an Element inside an isolated namespace.

See docs/architecture.md for which module owns which step.
"""
