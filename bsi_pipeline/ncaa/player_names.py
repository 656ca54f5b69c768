"""One key per college player across the name forms different scorers write for him.

Why: stats.ncaa.org play-by-play is typed by each home team's scorer, so one pitcher appears as "KEY",
"KEY, Jacob", "Key, J." or "J. Key" depending on where he pitched. Keyed on the text as written, his
history splits by venue: in features_pitcher_starts for 2021, keying (team, surname, first initial)
instead of the raw name lifts a starter's mean earlier batters faced from 184 to 236 and cuts the starts
with no earlier start from 13.8% to 9.4%.

A form's parts are its surname (letters only, lower case; Jr./Sr./II/III/IV dropped) and its first
initial when it has one: "Last, First", "Last,F.", "F. Last", "First Last" and "LAST F" are all read;
a form opening with a particle ("De La Cruz", "Van Buren") is a surname alone.
Within a team, forms with an initial key as "surname initial"; a form without one joins the initial of
its surname when exactly one initial is seen for that surname on that team, and otherwise keys as the
surname alone (two Johnsons, J. and T.: "JOHNSON" could be either, so it is not credited to one).
A form without letters (a jersey number) keys as itself. A form of exactly 12 characters may be cut
short by the scorer's software ("J. Betancour"): it takes the one longer surname on its team that it
begins, initials agreeing, unless the two forms share a game. Misspelt surnames stay apart. Given
the games, two forms of one key in one game's lineup are two players (brothers: "Butler, Jack" and
"Butler, Joe"), and that key splits by whole given names.

The forms are those of the frame given (every season in it), as the team registry uses later seasons'
files: a name form seen later can tell which pitcher an earlier "KEY" was, but no result of a later
game reaches a feature through the key.
"""

from __future__ import annotations

import re

import polars as pl

SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
TRUNCATED_AT = 12  # some scorers' software cuts names here: "J. Betancour", "Austin Markm", "LOCKWOOD-POW"
NAME_KEYED_LEAGUES = ("ncaa",)  # leagues whose play-by-play names players in free text, not by id
PARTICLES = frozenset({"da", "de", "del", "della", "der", "di", "dos", "du", "la", "le", "st", "van", "von"})


def name_parts(name: str) -> tuple[str, str]:
    """(surname, first initial or "") of a written name: "KEY, Jacob" -> ("key", "j"); "J. Van Buren" ->
    ("vanburen", "j"); "BERNHARDT L" -> ("bernhardt", "l"); "Dvorak" -> ("dvorak", "")."""
    surname, given = _surname_and_given(name)
    return surname, given[:1]


def _surname_and_given(name: str) -> tuple[str, str]:
    """(surname, given name's letters): "Butler, Jack" -> ("butler", "jack")."""
    name = name.strip()
    if "," in name:
        surname, given = name.split(",", 1)
    else:
        tokens = name.replace(".", ". ").split()
        tokens = [t for t in tokens if _letters(t) not in SUFFIXES] or tokens  # "Black III", "Smith Jr."
        if len(tokens) < 2 or _letters(tokens[0]) in PARTICLES:  # "Dvorak", "De La Cruz"
            surname, given = name, ""
        elif len(_letters(tokens[-1])) == 1 and len(_letters(tokens[0])) > 1:  # "LAST F"
            surname, given = " ".join(tokens[:-1]), tokens[-1]
        else:  # "F. Last", "First Last", "J. Van Buren"
            surname, given = " ".join(tokens[1:]), tokens[0]
    words = [w for w in surname.lower().replace(".", " ").split() if _letters(w) not in SUFFIXES]
    return _letters("".join(words)), _letters(given)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def player_keys(players: pl.DataFrame) -> pl.DataFrame:
    """team, player, player_key for every distinct (team, player) of `players` (nulls left out).

    With a game_id column, two forms of one key written in the same game for the same team are two
    players ("Butler, Jack" and "Butler, Joe"): that key's forms then key by their whole given name
    ("butler jack", "butler joe"), and its forms without one by the surname alone."""
    pairs = players.select("team", "player").drop_nulls().unique().sort("team", "player")
    parts = [_surname_and_given(p) for p in pairs["player"].to_list()]
    pairs = pairs.with_columns(surname=pl.Series([s for s, _ in parts], dtype=pl.String),
                               given=pl.Series([g for _, g in parts], dtype=pl.String))
    pairs = pairs.with_columns(surname=pl.Series(_untruncated(pairs, players), dtype=pl.String))
    pairs = pairs.with_columns(initial=pl.col("given").str.slice(0, 1))
    only = (pairs.filter(pl.col("initial") != "").group_by("team", "surname")
            .agg(only=pl.when(pl.col("initial").n_unique() == 1).then(pl.col("initial").first())))
    pairs = pairs.join(only, on=["team", "surname"], how="left")
    initial = pl.when(pl.col("initial") != "").then(pl.col("initial")).otherwise(pl.col("only"))
    key = (pl.when(pl.col("surname") == "").then(pl.col("player"))
           .when(initial.is_not_null()).then(pl.format("{} {}", "surname", initial))
           .otherwise(pl.col("surname")))
    pairs = pairs.with_columns(player_key=key)
    if "game_id" in players.columns:
        clashes = (players.select("game_id", "team", "player").drop_nulls().unique()
                   .join(pairs.select("team", "player", "player_key"), on=["team", "player"])
                   .group_by("game_id", "team", "player_key").agg(forms=pl.col("player").n_unique())
                   .filter(pl.col("forms") > 1).select("team", "player_key", clash=pl.lit(True)).unique())
        whole = (pl.when(pl.col("given") != "").then(pl.format("{} {}", "surname", "given"))
                 .otherwise(pl.col("surname")))
        pairs = pairs.join(clashes, on=["team", "player_key"], how="left").with_columns(
            player_key=pl.when(pl.col("clash").fill_null(False)).then(whole).otherwise(pl.col("player_key")))
    return pairs.select("team", "player", "player_key")


def _untruncated(pairs: pl.DataFrame, players: pl.DataFrame) -> list[str]:
    """Each pair's surname, or for a form cut at TRUNCATED_AT characters the one longer surname on its team
    that it begins ("J. Betancour" -> "betancourt"), when the initials agree (or one is missing) and the two
    forms never appear in the same game (then they are two players: "Williams, J." and "Williamson")."""
    rows = list(pairs.select("team", "player", "surname", "given").iter_rows())
    by_team: dict[str, list[tuple[str, str, str]]] = {}
    for team, player, surname, given in rows:
        by_team.setdefault(team, []).append((player, surname, given))
    extension: dict[tuple[str, str], str] = {}
    longer_forms = []  # (team, cut form, a form of its extension)
    for team, player, surname, given in rows:
        if len(player.strip()) != TRUNCATED_AT or len(surname) < 3:
            continue
        longer = [(s, p) for p, s, g in by_team[team]
                  if len(s) > len(surname) and s.startswith(surname) and (not g or not given or g[0] == given[0])]
        if len({s for s, _ in longer}) == 1:
            extension[(team, player)] = longer[0][0]
            longer_forms += [(team, player, p) for _, p in longer]
    if longer_forms and "game_id" in players.columns:
        written = players.select("game_id", "team", "player").drop_nulls().unique()
        together = (pl.DataFrame(longer_forms, schema=["team", "player", "other"], orient="row")
                    .join(written, on=["team", "player"])
                    .join(written.rename({"player": "other"}), on=["game_id", "team", "other"]))
        for key in together.select("team", "player").unique().iter_rows():
            extension.pop(key)
    return [extension.get((team, player), surname) for team, player, surname, _ in rows]


def with_player_key(frame: pl.DataFrame, player: str = "player", key: str = "player_key", team: str = "team",
                    keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """`frame` plus `key`: the key of its (`team`, `player`) from `keys`, or from player_keys of the frame
    itself (with its game_id, when it has one) when not given; a player with no key keeps a null key."""
    if keys is None:
        games = ["game_id"] if "game_id" in frame.columns else []
        keys = player_keys(frame.select(*games, team=team, player=player))
    keys = keys.rename({"team": team, "player": player, "player_key": key})
    return frame.join(keys, on=[team, player], how="left", maintain_order="left")
