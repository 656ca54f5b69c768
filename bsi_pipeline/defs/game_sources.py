"""Ingest of game-results sources: one multi-asset per source kind, built from the adapter registry.

Each writes `<kind>_games` (the shared schema), `<kind>_details` (the kind's own columns),
`<kind>_quarantine` (rejected rows with the reason) and `<kind>_files` (rows read = accepted +
quarantined per file). A kind with no files configured yields empty tables, so the graph is the
same whatever the config holds.
"""

import dagster as dg

from bsi_pipeline.defs.resources import BsiConfig, selected_outputs
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.sources.registry import GAME_SOURCES

_FRAME = {"polars", "parquet"}
TABLE_SUFFIXES = {
    "games": "games in the shared schema (sport, league, season, date, teams, scores, neutral, conferences)",
    "details": "the source's own per-game columns",
    "quarantine": "rejected source rows with the reason",
    "files": "rows read, accepted and quarantined per source file",
}


def _game_source_asset(kind: str, title: str, read) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"{kind}_ingest",
        outs={f"{kind}_{suffix}": dg.AssetOut(is_required=False, description=f"{title}: {text}.", kinds=_FRAME)
              for suffix, text in TABLE_SUFFIXES.items()},
        group_name="ingest",
        can_subset=True,
    )
    def ingest(context: dg.AssetExecutionContext, bsi: BsiConfig):
        settings = bsi.settings()
        context.log.info(f"{kind}: {len(settings.source_files(kind))} file(s)")
        result = read(settings)
        files = result.files
        reasons = result.quarantine.group_by("reason").len().sort("len", descending=True)
        yield from selected_outputs(context, {
            f"{kind}_games": (result.games, {
                "games": result.games.height,
                "seasons": dg.MetadataValue.md(markdown_table(
                    result.games.group_by("season").len().sort("season"), max_rows=60)),
            }),
            f"{kind}_details": (result.details, {"rows": result.details.height}),
            f"{kind}_quarantine": (result.quarantine, {"rows": result.quarantine.height,
                                                       "reasons": dg.MetadataValue.md(markdown_table(reasons))}),
            f"{kind}_files": (files, {"files": dg.MetadataValue.md(markdown_table(files))}),
        })

    return ingest


GAME_SOURCE_ASSETS = [_game_source_asset(kind, title, read) for kind, (title, read) in GAME_SOURCES.items()]
GAME_SOURCE_TABLES = {f"{kind}_{suffix}": f"{title}: {text}."
                      for kind, (title, _) in GAME_SOURCES.items() for suffix, text in TABLE_SUFFIXES.items()}
