"""Pure feature builders of the model factory (no Dagster): games, pitcher starts, batted balls.

No future leakage: every pre-game feature comes only from games on dates strictly before the row's
date (same-day games, e.g. doubleheaders, never see each other). Each builder returns
FeatureBuild(features, excluded); provenance.py declares what every column is.
"""

from bsi_pipeline.features.common import FeatureBuild
from bsi_pipeline.features.provenance import LeakageError, check_leakage, feature_columns

__all__ = ["FeatureBuild", "LeakageError", "check_leakage", "feature_columns"]
