"""Replay parsed play-by-play lines through the game state, then reconcile with the score column.

State per half inning: who is on which base (by name, as the text refers to runners by name),
outs and runs. Per game: the current pitcher of each team, learned from `X to p for Y` lines and
carried back to the plays Y pitched. The `score` column (away-home after each line) is ground
truth: per half inning the runs we reconstruct must equal the batting team's score change, the
fielding team's score must not move, and every half inning but the game's last must end at 3 outs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bsi_pipeline.ncaa.pbp_text import (
    FIRST, HOME, KIND_PLAY, KIND_SUB, KIND_SUMMARY, OUT, ParsedLine, Segment, _runner_event, parse_description,
)

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


def _find_runner(bases: list, claimed: set, seg: Segment) -> int | None:
    """Which base the runner named by `seg` starts from: by name, then by surname, then by what he did."""
    occupied = [b for b in (3, 2, 1) if bases[b] is not None and b not in claimed]
    if not occupied:
        return None
    for b in occupied:
        if bases[b] == seg.name:
            return b
    surname = _surname(seg.name)
    if surname:
        hits = [b for b in occupied if _surname(bases[b]) == surname]
        if len(hits) == 1:
            return hits[0]
    dest, target = seg.dest, seg.target
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


class _HalfState:
    """Bases, outs and runs of the half inning being replayed.

    `outs` stays in 0..3 as the plays table reports it; `outs_parsed` keeps counting so that a
    parse that finds a fourth out is reported as a mismatch instead of hidden.
    """

    __slots__ = ("bases", "outs_parsed", "runs")

    def __init__(self):
        self.bases: list[str | None] = [None, None, None, None]
        self.outs_parsed = 0
        self.runs = 0

    @property
    def outs(self) -> int:
        return min(self.outs_parsed, 3)


def _place(bases: list, base: int, name: str, scorers: list) -> None:
    """Put a runner on a base, forcing an unmentioned occupant ahead (he must move)."""
    occupant = bases[base]
    bases[base] = name
    if occupant is not None and occupant != name:
        if base == 3:
            scorers.append(occupant)
        else:
            _place(bases, base + 1, occupant, scorers)


def replay_game(lines: list[GameLine]) -> GameResult:
    """Replay one game's lines in order; returns plays, runner movements and the reconciliation verdict."""
    result = GameResult()
    pitcher: dict[str, str | None] = {}
    unknown_pitcher_plays: dict[str, list[dict]] = {}
    last_sub: tuple[str, str | None] | None = None  # (team, position) of a sub whose "for Y" may follow
    state = _HalfState()
    half_key = None
    half_start_score = (0, 0)
    prev_score = (0, 0)
    half_first_seq = 0
    halves: list[tuple] = []  # (inning, half, runs, outs, start_score, end_score, first_seq)

    def close_half():
        if half_key is not None:
            halves.append((half_key[0], half_key[1], state.runs, state.outs_parsed, half_start_score, prev_score,
                           half_first_seq))

    for seq, gl in enumerate(lines, start=1):
        parsed = parse_description(gl.description)
        key = (gl.inning, gl.half)
        # Inning summaries ("H: 1 LOB: 2") are sometimes printed after the next half's first plays:
        # they never open a half inning.
        if key != half_key and parsed.kind != KIND_SUMMARY:
            close_half()
            half_key, state = key, _HalfState()
            half_start_score, half_first_seq = prev_score, seq
        outs_before, code_before = state.outs, bases_code(state.bases)
        play = {
            "seq": seq, "line_no": gl.line_no, "inning": gl.inning, "half": gl.half,
            "batting_team": gl.batting, "fielding_team": gl.fielding, "line_kind": parsed.kind,
            "event_type": parsed.event_type, "is_plate_appearance": False, "batter": None, "pitcher": None,
            "outs_before": outs_before, "bases_before": BASE_LABELS[code_before],
            "runs_on_play": 0, "rbi": 0, "balls": parsed.balls, "strikes": parsed.strikes,
            "pitch_sequence": parsed.pitches, "sac": None, "runners_scored": None,
            "away_score": gl.away_score, "home_score": gl.home_score, "description": gl.description,
        }
        if parsed.kind == KIND_PLAY:
            scorers = _apply_play(parsed, state, result.runners, seq)
            play.update(
                event_type=parsed.event_type, is_plate_appearance=parsed.is_pa,
                batter=parsed.batter.name if parsed.is_pa else None, runs_on_play=len(scorers),
                rbi=parsed.rbi if parsed.is_pa else 0, sac=parsed.sac if parsed.is_pa else None,
                runners_scored="; ".join(scorers) if scorers else None,
            )
            state.runs += len(scorers)
        elif parsed.kind == KIND_SUB:
            last_sub = _apply_substitution(parsed, gl.fielding, state, pitcher, unknown_pitcher_plays, last_sub)
        if parsed.kind != KIND_SUB:
            last_sub = None
        play["outs_after"] = state.outs
        play["bases_after"] = BASE_LABELS[bases_code(state.bases)]
        if parsed.kind == KIND_PLAY:
            current = pitcher.get(gl.fielding)
            play["pitcher"] = current
            if current is None:
                unknown_pitcher_plays.setdefault(gl.fielding, []).append(play)
        if parsed.kind != KIND_SUMMARY:  # a summary may carry the score of a half not yet replayed
            prev_score = (gl.away_score, gl.home_score)
        result.plays.append(play)
    close_half()
    _reconcile(result, halves)
    return result


def _apply_play(parsed: ParsedLine, state: _HalfState, runner_log: list, seq: int) -> list[str]:
    bases = state.bases
    claimed: set[int] = set()
    movers: list[tuple[int | None, Segment]] = []
    batter = parsed.batter
    if batter is not None and parsed.ambiguous_batter:
        start = _find_exact(bases, batter.name)
        if start is not None:  # "X out at first ..." where X is a runner: a pickoff-like out, not a PA
            parsed.is_pa, parsed.batter, parsed.event_type = False, None, _runner_event(" ".join(batter.actions))
            parsed.runners = [batter] + parsed.runners
            batter = None
    for seg in parsed.runners:
        if batter is not None and seg.name == batter.name:
            if seg.dest is not None:  # the batter's own later movement, e.g. "X advanced to second on the throw"
                batter.dest = seg.dest
            continue
        start = _find_runner(bases, claimed, seg)
        if start is not None:
            claimed.add(start)
        movers.append((start, seg))
    new_bases = list(bases)
    for start, _ in movers:
        if start is not None:
            new_bases[start] = None
    scorers: list[str] = []
    ordered = sorted(movers, key=lambda m: -(m[1].dest if m[1].dest is not None else (m[0] or 0)))
    for start, seg in ordered:
        dest = seg.dest if seg.dest is not None else start
        name = bases[start] if start is not None else seg.name
        if dest is None:
            continue
        runner_log.append({"seq": seq, "runner": name, "start_base": start, "end_base": dest,
                           "stolen_base": seg.stole and dest != OUT, "caught_stealing": seg.caught})
        if dest == OUT:
            state.outs_parsed += 1
        elif dest == HOME:
            scorers.append(name)
        else:
            _place(new_bases, dest, name, scorers)
    if batter is not None:
        dest = batter.dest if batter.dest is not None else OUT
        runner_log.append({"seq": seq, "runner": batter.name, "start_base": 0, "end_base": dest,
                           "stolen_base": False, "caught_stealing": False})
        if dest == OUT:
            state.outs_parsed += 1
        elif dest == HOME:
            scorers.append(batter.name)
        else:
            _place(new_bases, dest, batter.name, scorers)
    state.bases = new_bases
    return scorers


def _find_exact(bases: list, name: str) -> int | None:
    for b in (1, 2, 3):
        if bases[b] == name:
            return b
    return None


def _apply_substitution(parsed, fielding_team, state, pitcher, unknown_pitcher_plays, last_sub):
    """Pinch runners take the base; a new pitcher is recorded and the one he replaced is credited
    with the plays of his team that had no known pitcher yet. Returns the pending (team, position)."""
    if parsed.sub_new is None:  # "for Y." continuing the previous line's "X to p."
        if last_sub is not None and last_sub[1] == "p" and parsed.sub_old:
            _credit_pitcher(last_sub[0], parsed.sub_old, unknown_pitcher_plays)
        return None
    if parsed.sub_pos == "pr" and parsed.sub_old:
        start = _find_exact(state.bases, parsed.sub_old)
        if start is None:
            surname = _surname(parsed.sub_old)
            hits = [b for b in (1, 2, 3) if state.bases[b] and _surname(state.bases[b]) == surname]
            start = hits[0] if len(hits) == 1 else None
        if start is not None:
            state.bases[start] = parsed.sub_new
    if parsed.sub_pos == "p":
        if parsed.sub_old:
            _credit_pitcher(fielding_team, parsed.sub_old, unknown_pitcher_plays)
        pitcher[fielding_team] = parsed.sub_new
    return (fielding_team, parsed.sub_pos)


def _credit_pitcher(team: str, name: str, unknown_pitcher_plays: dict) -> None:
    for play in unknown_pitcher_plays.pop(team, []):
        play["pitcher"] = name


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
