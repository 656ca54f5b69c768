"""The MLOps stage's pure logic: serving the champions (prediction_log and its views), drift checks,
the champion/challenger promotion policy, the side-by-side system ensemble and the monitoring plots.

No Dagster or MLflow imports here, so every rule can be tested on plain numbers; the asset layer
only feeds these functions and records their tables.
"""
