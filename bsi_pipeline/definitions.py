"""The bsi_pipeline code location: every asset, check and resource in one Definitions."""


import dagster as dg
from dagster_aws.s3 import S3Resource

from bsi_pipeline.defs.analytics import ANALYTICS_ASSETS
from bsi_pipeline.defs.automation import AUTOMATION_JOBS, AUTOMATION_SCHEDULES, AUTOMATION_SENSORS
from bsi_pipeline.defs.box_scores import box_batting, box_pitching, teams
from bsi_pipeline.defs.checks import CHECKS
from bsi_pipeline.defs.game_sources import GAME_SOURCE_ASSETS
from bsi_pipeline.defs.features import FEATURE_ASSETS
from bsi_pipeline.defs.games import games
from bsi_pipeline.defs.models import MODEL_ASSETS
from bsi_pipeline.defs.monitoring import MONITORING_ASSETS
from bsi_pipeline.defs.ratings import RATINGS_ASSETS
from bsi_pipeline.defs.ingest import ncaa_pbp_ingest
from bsi_pipeline.defs.plays import ncaa_plays
from bsi_pipeline.defs.registry import REGISTRY_ASSETS, REGISTRY_JOBS, REGISTRY_SENSORS, MlflowResource
from bsi_pipeline.defs.resources import BsiConfig, LakeIOManager
from bsi_pipeline.defs.warehouse import warehouse

ASSETS = [ncaa_pbp_ingest, ncaa_plays, box_batting, box_pitching, teams, *GAME_SOURCE_ASSETS, games, *RATINGS_ASSETS,
          *ANALYTICS_ASSETS, *FEATURE_ASSETS, *MODEL_ASSETS, *REGISTRY_ASSETS, *MONITORING_ASSETS, warehouse]


def build_resources(config_path: str = "", s3: S3Resource | None = None) -> dict:
    """The resources every asset runs with. `s3` sets the S3 client options of a lake in S3 (dagster-aws)."""
    config = BsiConfig(config_path=config_path, s3=s3 or S3Resource())
    return {"bsi": config, "io_manager": LakeIOManager(config=config), "mlflow": MlflowResource(config=config)}


JOBS = [*REGISTRY_JOBS, *AUTOMATION_JOBS]
SCHEDULES = [*AUTOMATION_SCHEDULES]
SENSORS = [*REGISTRY_SENSORS, *AUTOMATION_SENSORS]
defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, schedules=SCHEDULES, sensors=SENSORS,
                      resources=build_resources())
