"""Teams seen in the games, joined to the NCAA D1 team -> conference registry.

The registry (stats.ncaa.org short names, one file per academic year) may not cover the season
being played: each season uses the registry of its own year when present, else the nearest year,
and records which one (`registry_year`), since conferences realign. Teams not in the registry
(non-D1 opponents, or a spelling the registry does not use) are kept, never dropped.
`schedule_conference` is the conference the team's conference-season series say it played in
(bsi_pipeline/ncaa/conference_schedule.py); where it differs from the registry's, the note says so, for
the seasons older than the registries. A team the registry does not list, or lists as independent, takes
its schedule's conference when the schedule is clear (D1 teams that dropped baseball or were renamed before
2023: Furman, La Salle, Houston Baptist; Hartford, America East until 2022), `conference_source` says where
each conference came from, and unlisted teams without one get `is_d1 = false` and a note saying so.
"""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from bsi_pipeline.ids import canonical_id
from bsi_pipeline.ncaa.conference_schedule import schedule_conferences
from bsi_pipeline.ratings.conference import is_independent

REGISTRY_COLUMNS = ("academic_year", "conference_id", "conference", "ncaa_teams_id", "team_name")


class RegistryError(ValueError):
    pass


def load_registry(paths: list[Path]) -> pl.DataFrame:
    frames = []
    for path in paths:
        df = pl.read_csv(path, infer_schema_length=0, glob=False)
        missing = [c for c in REGISTRY_COLUMNS if c not in df.columns]
        if missing:
            raise RegistryError(f"{path}: missing required column(s) {', '.join(missing)}")
        frames.append(df.select(REGISTRY_COLUMNS))
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in REGISTRY_COLUMNS}).with_columns(
            pl.col("academic_year").cast(pl.Int32))
    registry = pl.concat(frames).with_columns(
        pl.col("academic_year").cast(pl.Int32),
        # The published registries carry HTML entities ("Texas A&amp;M", "St. John&#39;s (NY)").
        pl.col("team_name", "conference").map_elements(lambda v: html.unescape(v).strip(), return_dtype=pl.String))
    duplicated = registry.filter(pl.struct("academic_year", "team_name").is_duplicated())
    if duplicated.height:
        row = duplicated.row(0, named=True)
        raise RegistryError(f"team {row['team_name']!r} listed twice in the {row['academic_year']} registry")
    return registry


def _registry_year(season: int, years: list[int]) -> int | None:
    if not years:
        return None
    return min(years, key=lambda y: (abs(y - season), -y))


def teams_table(games: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    seen = pl.concat([
        games.select("season", pl.col("away_team").alias("team_name")),
        games.select("season", pl.col("home_team").alias("team_name")),
    ]).group_by("season", "team_name").agg(games=pl.len().cast(pl.Int32))
    years = sorted(registry.get_column("academic_year").unique().to_list())
    season_map = pl.DataFrame(
        {"season": s, "registry_year": _registry_year(s, years)} for s in seen.get_column("season").unique()
    ).with_columns(pl.col("season").cast(pl.Int32), pl.col("registry_year").cast(pl.Int32))
    joined = (
        seen.join(season_map, on="season", how="left")
        .join(registry.rename({"academic_year": "registry_year"}), on=["registry_year", "team_name"], how="left")
    )
    registry_says = {(r["season"], r["team_name"]): r["conference"] for r in joined.iter_rows(named=True)}
    joined = _fill_unlisted(joined.join(schedule_conferences(games, registry_says), on=["season", "team_name"],
                                        how="left"), registry)
    source = pl.col("conference_source")
    unlisted = pl.when(pl.col("registry_conference").is_null()).then(
        pl.format("not in the {} D1 registry", pl.col("registry_year"))).otherwise(
        pl.format("the {} registry says {}", pl.col("registry_year"), pl.col("registry_conference")))
    note = pl.when(source.is_null()).then(
        pl.format("{} (non-D1 opponent, or a name spelled differently)", unlisted)
    ).when(source == "schedule").then(pl.format(
        "{}; conference from the {} schedule ({} of {} series games from mid-March)",
        unlisted, pl.col("season"), pl.col("series_games_in_conference"), pl.col("series_games"))
    ).when(source == "previous season's schedule").then(pl.format(
        "{} and no series from mid-March; conference from the {} schedule", unlisted, pl.col("season") - 1)
    ).when(pl.col("schedule_conference") != pl.col("conference")).then(
        pl.format("the {} schedule says {} ({} of {} series games from mid-March); the {} registry says {}",
                  pl.col("season"), pl.col("schedule_conference"), pl.col("series_games_in_conference"),
                  pl.col("series_games"), pl.col("registry_year"), pl.col("conference")))
    return joined.with_columns(
        team_id=pl.struct("season", "team_name").map_elements(
            lambda r: canonical_id("baseball", "ncaa", r["season"], "team", r["team_name"]), return_dtype=pl.String),
        conference_id=pl.col("conference_id").cast(pl.Int32, strict=False),
        ncaa_teams_id=pl.col("ncaa_teams_id").cast(pl.Int64, strict=False),
        note=note,
    ).select(
        "team_id", "season", "team_name", "is_d1", "conference", "conference_source", "conference_id",
        "ncaa_teams_id", "registry_year", "schedule_conference", "series_games", "series_games_in_conference",
        "games", "note",
    ).sort("season", "team_name")


def _fill_unlisted(joined: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    """A team the registry does not list, or lists as independent (in no conference: Hartford was America
    East until 2022), takes the conference its own schedule says; in a season without series (2020 stopped
    in March) it keeps the one its previous season's schedule said, which was known before the season.
    Its conference_id is the registry's id for that conference name. `registry_conference` keeps the
    registry's own label for the note."""
    registry_says = pl.col("registry_conference")
    silent = registry_says.is_null() | is_independent(registry_says)
    own = pl.col("schedule_conference").is_not_null() & ~is_independent(pl.col("schedule_conference"))
    joined = joined.rename({"conference": "registry_conference"})
    previous = (joined.filter(silent & own)
                .select((pl.col("season") + 1).cast(pl.Int32).alias("season"), "team_name",
                        pl.col("schedule_conference").alias("_previous")))
    ids = registry.group_by(pl.col("academic_year").alias("registry_year"), "conference").agg(
        pl.col("conference_id").first().alias("_conference_id"))
    carried = pl.col("series_games").is_null() & pl.col("_previous").is_not_null()
    source = (pl.when(silent.not_()).then(pl.lit("registry")).when(own).then(pl.lit("schedule"))
              .when(carried).then(pl.lit("previous season's schedule"))
              .when(registry_says.is_not_null()).then(pl.lit("registry")))
    return (joined.join(previous, on=["season", "team_name"], how="left")
            .with_columns(conference_source=source)
            .with_columns(conference=pl.when(pl.col("conference_source") == "registry").then(registry_says)
                          .when(own).then("schedule_conference").when(carried).then("_previous"))
            .join(ids, on=["registry_year", "conference"], how="left")
            .with_columns(conference_id=pl.when(pl.col("conference_source") == "registry")
                          .then("conference_id").otherwise("_conference_id"),
                          is_d1=pl.col("conference").is_not_null())
            .drop("_previous", "_conference_id"))
