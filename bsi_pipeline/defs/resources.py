"""Resources: the configuration contract and the Parquet lake as Dagster sees them."""

import dataclasses
from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from bsi_pipeline.config import Settings, load_settings
from bsi_pipeline.lake import read_table, write_table


class BsiConfig(dg.ConfigurableResource):
    """Which bsi.yaml to use; empty means $BSI_CONFIG, then ./bsi.yaml, then the repository's.

    `s3` (dagster-aws) makes the client of a lake in S3: region, profile, retries, TLS. None means its
    defaults. The endpoint comes from the settings (bsi.yaml `s3_endpoint_url`, $BSI_S3_ENDPOINT_URL)
    when they give one, else from `s3`; credentials from the AWS chain unless `s3` names them.
    """

    config_path: str = ""
    s3: S3Resource | None = None

    def settings(self) -> Settings:
        return dataclasses.replace(load_settings(self.config_path or None), s3_client_factory=self.s3_client)

    def s3_client(self, endpoint_url: str | None) -> Any:
        resource = self.s3 or S3Resource()
        if endpoint_url:
            resource = S3Resource(**{**{name: getattr(resource, name) for name in S3Resource.model_fields},
                                     "endpoint_url": endpoint_url})
        return resource.get_client()


class LakeIOManager(dg.ConfigurableIOManager):
    """Stores each asset's polars DataFrame as a lake table named after the asset."""

    config: dg.ResourceDependency[BsiConfig]

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | None) -> None:
        if obj is None:
            return
        lake = self.config.settings().storage
        name = context.asset_key.path[-1]
        write_table(lake, name, obj)
        context.add_output_metadata({
            "rows": obj.height,
            "path": dg.MetadataValue.path(lake.location(name)),
        })

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        return read_table(self.config.settings().storage, context.asset_key.path[-1])


def selected_outputs(context: dg.AssetExecutionContext, outputs: dict[str, tuple]):
    """Yield only the outputs selected in this run, so a multi-asset can be materialized in part.

    outputs: name -> (value, metadata dict).
    """
    selected = context.op_execution_context.selected_output_names
    for name, (value, metadata) in outputs.items():
        if name in selected:
            yield dg.Output(value, name, metadata=metadata)
