"""Resources: the configuration contract and the Parquet lake as Dagster sees them."""


import dagster as dg
import polars as pl

from bsi_pipeline.config import Settings, load_settings
from bsi_pipeline.lake import read_table, write_table


class BsiConfig(dg.ConfigurableResource):
    """Which bsi.yaml to use; empty means $BSI_CONFIG, then ./bsi.yaml, then the repository's."""

    config_path: str = ""

    def settings(self) -> Settings:
        return load_settings(self.config_path or None)


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
