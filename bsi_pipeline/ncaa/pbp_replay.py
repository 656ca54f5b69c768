"""Replay parsed play-by-play lines through the game state, then reconcile with the score column.

State per half inning: who is on which base (by name, as the text refers to runners by name),
outs and runs. Per game: the current pitcher of each team, learned from `X to p for Y` lines and
carried back to the plays Y pitched (which team a change is for is read from the whole game, as
some games print a team's changes during the half it bats: _pitching_change_teams). The `score`
column (away-home after each line) is ground truth: per half inning the runs we reconstruct must
equal the batting team's score change, the fielding team's score must not move, and every half
inning but the game's last must end at 3 outs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bsi_pipeline.ncaa.pbp_text import HOME, KIND_PLAY, KIND_SUB, KIND_SUMMARY, OUT, _runner_event, parse_fields

BASE_LABELS = ("empty", "1", "2", "1-2", "3", "1-3", "2-3", "1-2-3")


@dataclass
class GameLine:
    """One accepted input line of a game, already typed by the reader."""

    line_no: int
    inning: int
    half: str  # "top" or "bot"
    away_score: int
    home_score: int
    batting: str
    fielding: str
    description: str


@dataclass
class GameResult:
    plays: list[dict] = field(default_factory=list)
    runners: list[dict] = field(default_factory=list)
    status: str = "reconciled"
    reason: str | None = None
    mismatch_inning: int | None = None
    mismatch_half: str | None = None
    parsed_away_runs: int = 0
    parsed_home_runs: int = 0
    half_innings: int = 0


def bases_code(bases: list[str | None]) -> int:
    return (1 if bases[1] else 0) | (2 if bases[2] else 0) | (4 if bases[3] else 0)


def _surname(name: str) -> str:
    name = name.lower().replace(".", " ")
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else ""


def _find_runner(bases: list, claimed: set, name: str, dest: int | None, target: int | None) -> int | None:
    """Which base the runner `name` starts from: by name, then by surname, then by what he did (his
    destination `dest` and the first base his actions name, `target`)."""
    for b in (3, 2, 1):  # (the usual case: the runner is on base under the same name)
        if bases[b] == name and b not in claimed:
            return b
    occupied = [b for b in (3, 2, 1) if bases[b] is not None and b not in claimed]
    if not occupied:
        return None
    surname = _surname(name)
    if surname:
        hits = [b for b in occupied if _surname(bases[b]) == surname]
        if len(hits) == 1:
            return hits[0]
    if dest == HOME:
        return occupied[0]
    if dest is not None and dest > OUT:
        below = [b for b in occupied if b < dest]
        return below[0] if below else None
    if dest == OUT:
        if target is not None and target <= HOME:
            if target - 1 in occupied:
                return target - 1
            below = [b for b in occupied if b < target]
            return below[0] if below else occupied[-1]
        return occupied[-1]
    return None


def _place(bases: list, base: int, name: str, scorers: list) -> None:
    """Put a runner on a base, forcing an unmentioned occupant ahead (he must move)."""
    occupant = bases[base]
    bases[base] = name
    if occupant is not None and occupant != name:
        if base == 3:
            scorers.append(occupant)
        else:
            _place(bases, base + 1, occupant, scorers)


class ReplayColumns:
    """What the replay works out, one list per column, appended to game after game.

    The replay writes straight into these lists instead of making a dict per play: for a season of
    800,000 lines that is most of the difference between a dict per line and a column per table. The
    columns that only copy an input line (inning, teams, score, description, ...) are not here: the
    caller has them already. bases_before and bases_after hold bases_code values (BASE_LABELS[code]
    is the label), which become labels in one go when the table is made.
    """

    __slots__ = (
        "line_kind", "event_type", "is_plate_appearance", "batter", "pitcher", "outs_before", "outs_after",
        "bases_before", "bases_after", "runs_on_play", "rbi", "balls", "strikes", "pitch_sequence", "sac",
        "runners_scored",
        # play_runners: one row per person moved or put out; `team` is the batting team of the line.
        "r_seq", "r_team", "r_runner", "r_start_base", "r_end_base", "r_stolen_base", "r_caught_stealing",
    )

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, [])


def replay_game(lines: list[GameLine]) -> GameResult:
    """Replay one game's lines in order; returns plays, runner movements and the reconciliation verdict."""
    cols = ReplayColumns()
    result = replay_columns(
        [gl.inning for gl in lines], [gl.half for gl in lines], [gl.away_score for gl in lines],
        [gl.home_score for gl in lines], [gl.batting for gl in lines], [gl.fielding for gl in lines],
        [gl.description for gl in lines], cols,
    )
    for seq, gl in enumerate(lines, start=1):
        k = seq - 1
        result.plays.append({
            "seq": seq, "line_no": gl.line_no, "inning": gl.inning, "half": gl.half,
            "batting_team": gl.batting, "fielding_team": gl.fielding, "line_kind": cols.line_kind[k],
            "event_type": cols.event_type[k], "is_plate_appearance": cols.is_plate_appearance[k],
            "batter": cols.batter[k], "pitcher": cols.pitcher[k], "outs_before": cols.outs_before[k],
            "bases_before": BASE_LABELS[cols.bases_before[k]], "runs_on_play": cols.runs_on_play[k], "rbi": cols.rbi[k],
            "balls": cols.balls[k], "strikes": cols.strikes[k], "pitch_sequence": cols.pitch_sequence[k],
            "sac": cols.sac[k], "runners_scored": cols.runners_scored[k], "away_score": gl.away_score,
            "home_score": gl.home_score, "description": gl.description, "outs_after": cols.outs_after[k],
            "bases_after": BASE_LABELS[cols.bases_after[k]],
        })
    result.runners = [
        {"seq": seq, "runner": runner, "start_base": start, "end_base": end, "stolen_base": sb, "caught_stealing": cs}
        for seq, runner, start, end, sb, cs in zip(cols.r_seq, cols.r_runner, cols.r_start_base, cols.r_end_base,
                                                   cols.r_stolen_base, cols.r_caught_stealing)
    ]
    return result


_NO_HALF = object()  # the half inning before the first line of a game


def replay_columns(inning: list, half: list, away_score: list, home_score: list, batting: list, fielding: list,
                   description: list, out: ReplayColumns) -> GameResult:
    """Replay one game given as parallel lists (one item per line, in order), appending to `out`.

    Returns the verdict (the GameResult's plays and runners stay empty: they are in `out`). Row
    indexes in `out` keep counting across games, so one ReplayColumns can collect a whole season.

    State of the half inning being replayed: who is on which base (`bases[1..3]`, by name), outs
    (`outs` keeps counting past 3, so that a parse that finds a fourth out is reported as a mismatch
    instead of hidden; the plays table shows at most 3) and runs.
    """
    result = GameResult()
    pitcher: dict[str, str | None] = {}
    unknown_pitcher_rows: dict[str, list[int]] = {}  # team -> rows of out.pitcher waiting for a name
    last_sub: tuple[str, str | None] | None = None  # (team, position) of a sub whose "for Y" may follow
    bases: list[str | None] = [None, None, None, None]
    outs = runs = 0
    code = 0  # bases_code(bases)
    cur_inning, cur_half = None, _NO_HALF
    half_start_score = (0, 0)
    prev_away = prev_home = 0  # the score after the last line that was not a summary
    half_first_seq = 0
    halves: list[tuple] = []  # (inning, half, runs, outs, start_score, end_score, first_seq)
    pitcher_col = out.pitcher
    row0 = len(pitcher_col) - 1  # row0 + seq: index of line `seq` in the out columns
    (kind_append, event_append, pa_append, batter_append, pitcher_append, outs_before_append, outs_after_append,
     bases_before_append, bases_after_append, runs_append, rbi_append, balls_append, strikes_append,
     pitches_append, sac_append, scored_append) = (
        out.line_kind.append, out.event_type.append, out.is_plate_appearance.append, out.batter.append,
        pitcher_col.append, out.outs_before.append, out.outs_after.append, out.bases_before.append,
        out.bases_after.append, out.runs_on_play.append, out.rbi.append, out.balls.append, out.strikes.append,
        out.pitch_sequence.append, out.sac.append, out.runners_scored.append)
    log = (out.r_seq.append, out.r_team.append, out.r_runner.append, out.r_start_base.append,
           out.r_end_base.append, out.r_stolen_base.append, out.r_caught_stealing.append)
    r_seq_append, r_team_append, r_runner_append, r_start_append, r_end_append, r_sb_append, r_cs_append = log

    parsed = [parse_fields(text) for text in description]
    pitching_teams = _pitching_change_teams(parsed, batting, fielding)
    seq = 0
    shown_outs = 0  # min(outs, 3), as the plays table shows them
    for inn, hlf, away, home, bat, fld, fields in zip(inning, half, away_score, home_score, batting, fielding,
                                                      parsed):
        seq += 1
        (kind, event_type, is_pa, batter, runners, rbi, balls, strikes, pitches, sac, sub_new, sub_pos, sub_old,
         ambiguous) = fields
        # Inning summaries ("H: 1 LOB: 2") are sometimes printed after the next half's first plays:
        # they never open a half inning.
        if kind != KIND_SUMMARY and (hlf != cur_half or inn != cur_inning):
            if cur_half is not _NO_HALF:
                halves.append((cur_inning, cur_half, runs, outs, half_start_score, (prev_away, prev_home),
                               half_first_seq))
            cur_inning, cur_half = inn, hlf
            bases, outs, runs, code, shown_outs = [None, None, None, None], 0, 0, 0, 0
            half_start_score, half_first_seq = (prev_away, prev_home), seq
        outs_before_append(shown_outs)
        bases_before_append(code)
        if kind == KIND_PLAY:
            if ambiguous and _find_exact(bases, batter[0]) is not None:
                # "X out at first ..." where X is a runner: a pickoff-like out, not a plate appearance
                is_pa, event_type, rbi, sac = False, _runner_event(" ".join(batter[1].actions)), 0, None
                runners, batter = [batter, *runners], None
            if runners:
                bases, scorers, outs = _move_runners(bases, batter, runners, outs, seq, bat, log)
                code = bases_code(bases)
                n_runs = len(scorers)
                scored = "; ".join(scorers) if scorers else None
            else:  # the batter alone, the usual line: out, on base, or home
                name, info = batter
                dest = info.dest_as_batter
                r_seq_append(seq)
                r_team_append(bat)
                r_runner_append(name)
                r_start_append(0)
                r_end_append(dest)
                r_sb_append(False)
                r_cs_append(False)
                if dest == OUT:
                    outs += 1
                    n_runs, scored = 0, None
                elif dest == HOME:
                    n_runs, scored = 1, name
                else:
                    bases, scorers = list(bases), []
                    _place(bases, dest, name, scorers)
                    code = bases_code(bases)
                    n_runs = len(scorers)
                    scored = "; ".join(scorers) if scorers else None
            runs += n_runs
            shown_outs = outs if outs < 3 else 3
            kind_append(kind)
            event_append(event_type)
            pa_append(is_pa)
            batter_append(None if batter is None else batter[0])  # (a batter, and only he, makes a PA)
            runs_append(n_runs)
            rbi_append(rbi)
            sac_append(sac)
            scored_append(scored)
            current = pitcher.get(fld)
            pitcher_append(current)
            if current is None:
                unknown_pitcher_rows.setdefault(fld, []).append(row0 + seq)
            last_sub = None
        else:
            if kind == KIND_SUB:
                last_sub = _apply_substitution(sub_new, sub_pos, sub_old, pitching_teams.get(seq - 1, fld), bases,
                                               pitcher, pitcher_col, unknown_pitcher_rows, last_sub)
                code = bases_code(bases)
            else:
                last_sub = None
            kind_append(kind)
            event_append(event_type)
            pa_append(False)
            batter_append(None)
            runs_append(0)
            rbi_append(0)
            sac_append(None)
            scored_append(None)
            pitcher_append(None)
        balls_append(balls)
        strikes_append(strikes)
        pitches_append(pitches)
        outs_after_append(shown_outs)
        bases_after_append(code)
        if kind != KIND_SUMMARY:  # a summary may carry the score of a half not yet replayed
            prev_away, prev_home = away, home
    if cur_half is not _NO_HALF:
        halves.append((cur_inning, cur_half, runs, outs, half_start_score, (prev_away, prev_home), half_first_seq))
    _reconcile(result, halves)
    return result


def _move_runners(bases: list, batter: tuple | None, runners: list, outs: int, seq: int, team: str,
                  log: tuple) -> tuple[list, list[str], int]:
    """A play with runners: (bases after it, who scored, outs), runner movements logged.

    `batter` and `runners` are parse_fields persons, (name, action info); `log` holds the append
    methods of the play_runners columns of ReplayColumns (r_seq ... r_caught_stealing).
    """
    seq_append, team_append, runner_append, start_append, end_append, sb_append, cs_append = log
    batter_name = batter_dest = None
    if batter is not None:
        batter_name, batter_dest = batter[0], batter[1].dest
    claimed: set[int] = set()
    movers: list[tuple[int | None, str, object]] = []
    for name, info in runners:
        if batter is not None and name == batter_name:
            if info.dest is not None:  # the batter's own later movement, e.g. "X advanced to second on the throw"
                batter_dest = info.dest
            continue
        start = _find_runner(bases, claimed, name, info.dest, info.target)
        if start is not None:
            claimed.add(start)
        movers.append((start, name, info))
    new_bases = list(bases)
    for start, _, _ in movers:
        if start is not None:
            new_bases[start] = None
    if len(movers) > 1:
        movers.sort(key=_mover_order)  # stable, as sorted() was
    scorers: list[str] = []
    for start, name, info in movers:
        dest = info.dest if info.dest is not None else start
        if dest is None:
            continue
        who = bases[start] if start is not None else name
        seq_append(seq)
        team_append(team)
        runner_append(who)
        start_append(start)
        end_append(dest)
        sb_append(info.stole and dest != OUT)
        cs_append(info.caught)
        if dest == OUT:
            outs += 1
        elif dest == HOME:
            scorers.append(who)
        else:
            _place(new_bases, dest, who, scorers)
    if batter is not None:
        dest = batter_dest if batter_dest is not None else OUT
        seq_append(seq)
        team_append(team)
        runner_append(batter_name)
        start_append(0)
        end_append(dest)
        sb_append(False)
        cs_append(False)
        if dest == OUT:
            outs += 1
        elif dest == HOME:
            scorers.append(batter_name)
        else:
            _place(new_bases, dest, batter_name, scorers)
    return new_bases, scorers, outs


def _mover_order(mover: tuple) -> int:
    """Runners furthest along move first (by destination, else by start), so nobody is forced by mistake."""
    start, _, info = mover
    return -(info.dest if info.dest is not None else (start or 0))


def _find_exact(bases: list, name: str) -> int | None:
    for b in (1, 2, 3):
        if bases[b] == name:
            return b
    return None


def _apply_substitution(sub_new, sub_pos, sub_old, team, bases, pitcher, pitcher_col, unknown_pitcher_rows,
                        last_sub):
    """Pinch runners take the base; a new pitcher is recorded for `team` (the fielding team, or whose
    change _pitching_change_teams found it to be) and the one he replaced is credited with the plays of
    that team that had no known pitcher yet. Returns the pending (team, position)."""
    if sub_new is None:  # "for Y." continuing the previous line's "X to p."
        if last_sub is not None and last_sub[1] == "p" and sub_old:
            _credit_pitcher(last_sub[0], sub_old, pitcher_col, unknown_pitcher_rows)
        return None
    if sub_pos == "pr" and sub_old:
        start = _find_exact(bases, sub_old)
        if start is None:
            surname = _surname(sub_old)
            hits = [b for b in (1, 2, 3) if bases[b] and _surname(bases[b]) == surname]
            start = hits[0] if len(hits) == 1 else None
        if start is not None:
            bases[start] = sub_new
    if sub_pos == "p":
        if sub_old:
            _credit_pitcher(team, sub_old, pitcher_col, unknown_pitcher_rows)
        pitcher[team] = sub_new
    return (team, sub_pos)


def _pitching_change_teams(parsed: list[tuple], batting: list, fielding: list) -> dict[int, str]:
    """Line index -> team, for the pitching changes of a game whose team the whole game tells.

    A change is normally printed in the half its team fields, but some games print a team's changes
    during the half it bats (before the half it pitches), or announce a starter there. So the changes
    are read together, as chains of one team's pitchers, each replacing the one before: `X to p for Y`
    (also split as `X to p.` + `for Y.`) continues the chain of the change that brought Y in (the
    latest such change not yet continued: two pitchers of the two teams can share a name, "Justice" or
    "JONES"). When no change brought Y in, it continues the chain that brought X in if Y batted for
    the team batting at the line (the pitcher already in takes a batter's place, "Fields to p for
    Kennedy"), and starts a chain otherwise; `X to p.` (nobody named) continues the chain that brought
    X in, if any.

    A chain belongs to the team that fields in most of the halves its changes are printed in. On a
    tie: to the one tied team its pitchers batted for, if there is one (only then: names are often
    surnames alone, and a pitcher of one team can share his with a batter of the other), else to the
    one tied team no other chain was given, if there is one. A change of no decided chain is left out
    (the caller takes the fielding team).
    """
    changes: list[list] = []  # [line index, new, old]
    for i in [i for i, fields in enumerate(parsed) if fields[0] == KIND_SUB]:
        new, pos, old = parsed[i][10:13]  # sub_new, sub_pos, sub_old
        if pos == "p":
            changes.append([i, new, old])
        elif new is None and old and changes and changes[-1][0] == i - 1 and changes[-1][2] is None:
            changes[-1][2] = old  # "for Y." right after "X to p."
    if not changes:
        return {}
    batted: dict[str, set] | None = None  # name -> teams he batted for, made on first use

    def teams_batted_for(name: str) -> set:
        nonlocal batted
        if batted is None:
            batted = {}
            for fields, team in zip(parsed, batting):
                if fields[0] == KIND_PLAY and fields[3] is not None:
                    batted.setdefault(fields[3][0], set()).add(team)
        return batted.get(name, set())

    chains: list[list] = []  # the changes of each chain
    pitching: dict[str, list] = {}  # name -> the chains he was last brought into (latest last)
    for change in changes:
        i, new, old = change
        waiting = pitching.get(old or new)
        if not waiting and old and pitching.get(new) and batting[i] in teams_batted_for(old):
            waiting = pitching[new]
        chain = waiting.pop() if waiting else []
        if not chain:
            chains.append(chain)
        chain.append(change)
        pitching.setdefault(new, []).append(chain)
    team_of: list[str | None] = []
    ties: list[tuple[int, list]] = []  # (chain number, the teams tied for it)
    for n, chain in enumerate(chains):
        votes = Counter(fielding[i] for i, _, _ in chain)
        (first, most), *rest = votes.most_common()
        team_of.append(None if rest and rest[0][1] == most else first)
        if team_of[-1] is None:
            ties.append((n, [team for team, m in votes.items() if m == most]))
    given = set(team_of)
    for n, teams in ties:
        hitters = {team for _, new, old in chains[n] for name in (new, old) if name
                   for team in teams_batted_for(name)}
        hitters = [team for team in teams if team in hitters]
        free = [team for team in teams if team not in given]
        if len(hitters) == 1 or len(free) == 1:
            team_of[n] = hitters[0] if len(hitters) == 1 else free[0]
    return {i: team for chain, team in zip(chains, team_of) if team is not None for i, _, _ in chain}


def _credit_pitcher(team: str, name: str, pitcher_col: list, unknown_pitcher_rows: dict) -> None:
    for row in unknown_pitcher_rows.pop(team, []):
        pitcher_col[row] = name


def _reconcile(result: GameResult, halves: list[tuple]) -> None:
    result.half_innings = len(halves)
    for i, (inning, half, runs, outs, start, end, first_seq) in enumerate(halves):
        batting_idx = 0 if half == "top" else 1
        fielding_idx = 1 - batting_idx
        if half == "top":
            result.parsed_away_runs += runs
        else:
            result.parsed_home_runs += runs
        if result.status != "reconciled":
            continue
        expected = end[batting_idx] - start[batting_idx]
        reason = None
        if end[fielding_idx] != start[fielding_idx]:
            reason = f"fielding team's score changed from {start[fielding_idx]} to {end[fielding_idx]}"
        elif runs != expected:
            reason = f"parsed {runs} runs but the score changed by {expected}"
        elif outs > 3:
            reason = f"parsed {outs} outs in the half inning"
        elif outs != 3 and i != len(halves) - 1:
            reason = f"half inning ended with {outs} outs, not 3"
        if reason:
            result.status, result.reason = "mismatch", reason
            result.mismatch_inning, result.mismatch_half = inning, half
