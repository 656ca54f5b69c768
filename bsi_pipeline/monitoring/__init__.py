"""The MLOps stage's pure logic: drift checks, the champion/challenger promotion policy and the
side-by-side system ensemble.

No Dagster or MLflow imports here, so every rule can be tested on plain numbers; the asset layer
only feeds these functions and records their tables.
"""
