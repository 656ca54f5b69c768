"""Conference strength per league and season, and the adjustment analysts apply to player stats.

Two measures, both in the sport's units (runs or points per game against the average conference team):
- Elo: a team's end-of-season strength is its last post-game Elo plus its conference's Elo (the
  conference layer, when the league uses one) after the last date any member played: the layer moves in
  every member's non-conference games, so a member's own last game can be too early. A conference's
  strength is the mean over its teams, relative to the mean of all conferences that season. Elo points
  become runs (or points) through the league's own relation between pre-game Elo difference and final
  margin (least squares through the origin over its games of that season and the earlier ones, never
  later ones): elo_margin_vs_average = strength_vs_average / elo_per_margin_unit.
- ridge_margin (leagues with a ridge, team_ratings' ridge_rating_post): a team's end-of-season rating is
  its team effect plus its conference effect from the season-end solve, already in margin units;
  ridge_margin_vs_average is the same mean over teams, relative to the mean of all conferences.

margin_per_game_vs_average is the ridge measure where it exists (margin_source says which). Why: on the
shared data it predicts next season's games between conferences better in every college league
(next_season_check: RMSE 5.72 vs 5.89 runs in college baseball, 19.62 vs 19.97 points in college
football, 13.37 vs 13.92 in college basketball). The ridge fits every game of the season at once, while
an end-of-season Elo depends on the order of the games and moves most with the last ones.

Independents ("DI Independent", "FBS Independents", "Independent": teams in no conference) keep a row,
flagged is_independent, but are left out of the average the others are measured against and get no
scoring_edge_per_game: their "strength" is the mean of a team or two, not a conference effect, and their
schedules span every conference. (On the shared data "DI Independent" is Oregon St. alone in 2025.)

    scoring_edge_per_game = margin_per_game_vs_average / 2

is the run-environment difference the conference's players faced, per game: half of the conference's
edge is credited to run prevention (what its hitters faced) and half to run scoring (what its pitchers
faced). Checked on the shared college baseball seasons with a separate offence/defence fit of the scores:
conference run prevention moves 0.43-0.51 runs per run of margin, run scoring 0.31-0.38 (both shrunk).
bsi_pipeline.linear_weights turns the edge into rate-stat credits additively, per plate appearance (an
SEC .350 hitter is worth more than a MEAC .350 hitter, by about woba_scale x edge / PA per game).
"""

from __future__ import annotations

import polars as pl

def elo_per_margin_unit(team_ratings: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """Per league and season: Elo points per run/point of expected margin, from the home rows of
    team_ratings in that season and the earlier ones only, so that a season's row (and next_season_check,
    which scores it on the next season's games) never depends on later games."""
    home = team_ratings.filter(pl.col("is_home")).join(
        team_ratings.filter(~pl.col("is_home")).select("game_id", away_pre="rating_pre",
                                                        away_conf_pre="conference_rating_pre"), on="game_id")
    # sorted so the sums below add in one fixed order (joins return rows in no particular order)
    joined = home.join(games.select("game_id", "home_score", "away_score"), on="game_id").sort("game_id")
    diff = (pl.col("rating_pre") + pl.col("conference_rating_pre") - pl.col("away_pre") - pl.col("away_conf_pre"))
    margin = (pl.col("home_score") - pl.col("away_score")).cast(pl.Float64)
    per_season = (joined.group_by("league", "season").agg(dd=(diff * diff).sum(), dm=(diff * margin).sum())
                  .sort("league", "season"))
    dd, dm = pl.col("dd").cum_sum().over("league"), pl.col("dm").cum_sum().over("league")
    # null, not NaN, while every pre-game difference so far is 0 (a league's first season can be all new teams)
    return per_season.select("league", "season", elo_per_margin_unit=pl.when(dd > 0).then(dd / dm))


def is_independent(conference: pl.Expr) -> pl.Expr:
    """True for the pseudo-conference of teams in no conference, in each league's spelling."""
    return conference.str.contains(r"(?i)\bindependents?\b")


def _vs_conference_average(column: str) -> pl.Expr:
    """The column against the mean of the league-season's real conferences (independents left out)."""
    average = pl.col(column).filter(~pl.col("is_independent")).mean().over("league", "season")
    return pl.col(column) - average


def _season_end_conference_ratings(ordered: pl.DataFrame) -> pl.DataFrame:
    """Per league, season and conference: the conference layer after the last date any member played
    (``ordered``: team_ratings sorted by date and game_id)."""
    return (ordered.filter(pl.col("conference").is_not_null())
            .group_by("league", "season", "conference", maintain_order=True)
            .agg(conference_rating=pl.col("conference_rating_post").last()))


def conference_strength(team_ratings: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    ridge_post = (pl.col("ridge_rating_post") if "ridge_rating_post" in team_ratings.columns
                  else pl.lit(None, dtype=pl.Float64))
    ordered = team_ratings.sort("date", "game_id")
    last = (ordered.group_by("sport", "league", "season", "team", maintain_order=True)
            .agg(pl.col("conference").drop_nulls().last(), rating=pl.col("rating_post").last(),
                 ridge_rating=ridge_post.last()))
    teams = last.filter(pl.col("conference").is_not_null()).join(
        _season_end_conference_ratings(ordered), on=["league", "season", "conference"], how="left"
    ).with_columns(
        strength=pl.col("rating") + pl.col("conference_rating")).sort("league", "season", "conference", "team")
    scoring = (pl.concat([games.select("league", "season", points=pl.col("home_score")),
                          games.select("league", "season", points=pl.col("away_score"))])
               .sort("league", "season", "points")
               .group_by("league", "season", maintain_order=True)
               .agg(league_scoring=pl.col("points").cast(pl.Float64).mean()))
    table = (teams.group_by("sport", "league", "season", "conference", maintain_order=True)
             .agg(teams=pl.len().cast(pl.Int32), team_elo=pl.col("rating").mean(),
                  conference_elo=pl.col("conference_rating").mean(), strength=pl.col("strength").mean(),
                  ridge_margin=pl.col("ridge_rating").mean())
             .with_columns(is_independent=is_independent(pl.col("conference")))
             .with_columns(strength_vs_average=_vs_conference_average("strength"),
                           ridge_margin_vs_average=_vs_conference_average("ridge_margin"))
             .join(elo_per_margin_unit(team_ratings, games), on=["league", "season"], how="left")
             .join(scoring, on=["league", "season"], how="left"))
    table = table.with_columns(
        expected_win_pct_vs_average=1.0 / (1.0 + 10.0 ** (-pl.col("strength_vs_average") / 400.0)),
        elo_margin_vs_average=pl.col("strength_vs_average") / pl.col("elo_per_margin_unit"),
    ).with_columns(
        margin_per_game_vs_average=pl.coalesce("ridge_margin_vs_average", "elo_margin_vs_average"),
        margin_source=pl.when(pl.col("ridge_margin_vs_average").is_not_null()).then(pl.lit("ridge_margin"))
        .otherwise(pl.lit("elo_fit")),
    )
    return table.with_columns(
        scoring_edge_per_game=pl.when(~pl.col("is_independent")).then(pl.col("margin_per_game_vs_average") / 2),
    ).sort("sport", "league", "season", "strength_vs_average", descending=[False, False, False, True])


SOURCES = {"elo_fit": "elo_margin_vs_average", "ridge_margin": "ridge_margin_vs_average"}


def next_season_check(table: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """Evidence for choosing a margin source: how well each source's season-s conference margins predict
    season s+1's games between teams of different conferences (out of sample: next season's games never
    shaped them), on the games every source of the league can score. Per league and source: games, the correlation of the conference difference with the
    final margin, and the RMSE of margin - (difference + home advantage), the home advantage being the
    mean of that residual over non-neutral games (one number per league and source)."""
    prior = table.select("league", "conference", season=pl.col("season") + 1,
                         **{source: pl.col(column) for source, column in SOURCES.items()})
    paired = games.filter(pl.col("home_conference").is_not_null() & pl.col("away_conference").is_not_null()
                          & (pl.col("home_conference") != pl.col("away_conference")))
    for side in ("home", "away"):
        paired = paired.join(prior.rename({"conference": f"{side}_conference", **{s: f"{side}_{s}" for s in SOURCES}}),
                             on=["league", "season", f"{side}_conference"], how="inner")
    # every source of a league is scored on the same games: those all the league's sources can score
    scorable = {s: pl.col(f"home_{s}").is_not_null() & pl.col(f"away_{s}").is_not_null() for s in SOURCES}
    paired = (paired.with_columns(**{f"_league_has_{s}": scorable[s].any().over("league") for s in SOURCES})
              .filter(pl.all_horizontal(scorable[s] | ~pl.col(f"_league_has_{s}") for s in SOURCES)))
    paired = paired.sort("league", "date", "game_id")  # one fixed order for the sums below
    margin = (pl.col("home_score") - pl.col("away_score")).cast(pl.Float64)
    home = (~pl.col("neutral").fill_null(False)).cast(pl.Float64)
    rows = []
    for source in SOURCES:
        diff = pl.col(f"home_{source}") - pl.col(f"away_{source}")
        scored = paired.filter(diff.is_not_null()).with_columns(diff=diff, margin=margin, home=home)
        hfa = ((pl.col("margin") - pl.col("diff")) * pl.col("home")).sum() / pl.col("home").sum()
        rows.append(scored.group_by("league", maintain_order=True).agg(
            source=pl.lit(source), games=pl.len().cast(pl.Int32), correlation=pl.corr("diff", "margin"),
            rmse=((pl.col("margin") - pl.col("diff") - hfa.fill_nan(0.0) * pl.col("home")) ** 2).mean().sqrt()))
    return pl.concat(rows).sort("league", "source")
