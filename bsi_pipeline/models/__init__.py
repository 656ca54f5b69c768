"""The model factory's pure logic: specs, training, calibration, evaluation, export, scoring.

No Dagster imports here; the thin asset layer is bsi_pipeline/defs/models.py.
"""
