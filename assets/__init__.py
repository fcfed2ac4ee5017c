"""Dagster assets and asset checks: thin wrappers over reelcat/ and catalog/."""
