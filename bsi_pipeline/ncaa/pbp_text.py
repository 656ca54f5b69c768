"""Turn one stats.ncaa.org play-by-play description into a structured line.

A description is one or more `;`-separated segments. Each segment names a person and then lists
comma-separated actions: `J. Engel singled to left field, RBI (0-2 FF); L. Pritchard advanced to
second; B. Feist scored.` The first segment's person is the batter when its first action is a
batting verb; every other segment is a runner. Substitutions (`X to p for Y`, `X pinch ran for Y`)
and inning summaries (`R: 1 H: 2 LOB: 1`) have their own shapes.

This module only reads text. Who is on which base, outs and runs are the replay's job
(`pbp_replay`), because a runner's starting base is only known from the game state.
"""

from __future__ import annotations

import re

# Destination codes for a person after a line: 0 = out, 1-3 = base, 4 = scored.
OUT, FIRST, SECOND, THIRD, HOME = 0, 1, 2, 3, 4
BASE_WORDS = {"first": FIRST, "second": SECOND, "third": THIRD, "home": HOME}

EVENT_TYPES = (
    "single", "double", "triple", "home_run", "walk", "intentional_walk", "hit_by_pitch",
    "strikeout", "groundout", "flyout", "lineout", "popout", "double_play", "triple_play",
    "fielders_choice", "reached_on_error", "catcher_interference", "sac_bunt", "sac_fly", "stolen_base",
    "caught_stealing",
    "pickoff", "wild_pitch", "passed_ball", "balk", "defensive_indifference", "substitution", "other",
)
HIT_EVENTS = frozenset({"single", "double", "triple", "home_run"})

# Line kinds: a play; a substitution; an inning summary; a note that changes nothing on the field
# (replay review, mound visit, delay, "No play."); other = a line we could not read.
KIND_PLAY, KIND_SUB, KIND_SUMMARY, KIND_NOTE, KIND_OTHER, KIND_EMPTY = (
    "play", "substitution", "summary", "note", "other", "empty")

# A pitch count "(3-2 BBFKB)". Searched as `\s*` + _COUNT_AT_PAREN; the search starts at the
# literal "(", so the regex engine jumps from one "(" to the next, and the whitespace before the match
# is cut with rstrip (the same characters `\s*` would take).
_COUNT_AT_PAREN = re.compile(r"\((\d)-(\d)(?:\s+([A-Za-z]*))?\s*\)")
_SUMMARY = re.compile(r"^(?:(?:R|H|E|LOB):\s*\d+\s*)+\.?$")
_DIGIT = {str(d): d for d in range(10)}
_SUMMARY_FIRST = frozenset("RHEL")  # a summary starts with R:, H:, E: or LOB: (cheap check before the regex)
# The action verbs, each at the start of the text or after whitespace. The parser runs this on " " + text
# (the leading `\s` stands in for `(?:^|\s)`: the engine then jumps from one whitespace character to the
# next instead of trying every position), so match positions are one more than in the text. The
# alternatives are grouped by their first words; none is a prefix of another, so at most one can match
# at a position and the grouping does not change what matches.
_VERB_ALTERNATIVES = (
    r"i(?:ntentionally walked|nfield fly)|walked|hit by pitch|s(?:truck out|ingled|tole|cored)|doubled|tripled"
    r"|homered|(?:grounded|hit|lined|flied|popped|fouled|bunted) into (?:a )?(?:double|triple) play"
    r"|grounded out|flied out|lined out|popped (?:out|up)|fouled out|out (?:on batters interference|at|on the play"
    r"|on (?:a )?(?:double|triple) play)"
    r"|reached|advanced|caught stealing|picked off|no advance|did not advance|placed on|failed pickoff attempt"
)
_VERB = re.compile(r"\s(was (?:" + _VERB_ALTERNATIVES + r")|(?:" + _VERB_ALTERNATIVES + r"))\b")
# Notes about the game, not plays: replay reviews and challenges, mound visits, delays, "No play.",
# a dropped foul fly (an error that moves nobody). They can contain
# play words ("replayed call of out at 2nd base, was overturned") that must not move runners.
_NOTE = re.compile(
    r"\b(?:replay(?:ed)?|review(?:ed|ing)?|challeng\w*|overturned|call stands|call (?:was )?confirmed"
    r"|mound visit|visit to (?:the )?mound|coaching visit|delay(?:ed)?|no play|dropped foul)\b", re.IGNORECASE)


_SUB = re.compile(
    r"^(?P<new>.+?)\s+(?:to (?P<pos>p|c|1b|2b|3b|ss|lf|cf|rf|dh|pr|ph)|pinch (?P<pinch>hit|ran))"
    r"(?:\s+for\s+(?P<old>.+))?$"
)
_FOR_CONTINUATION = re.compile(r"^for\s+(?P<old>.+)$")
_RBI = re.compile(r"^(\d)\s*RBI$")
_BATTER_VERBS = (
    "intentionally walked", "walked", "hit by pitch", "struck out", "singled", "doubled", "tripled",
    "homered", "grounded out", "flied out", "lined out", "popped", "fouled out", "infield fly",
    "out on batters interference", "reached",
)
_OUTFIELD = re.compile(r"\b(?:lf|cf|rf)\b")
# Phrases that put a person out only as his first action; later they annotate ("..., caught stealing").
_FIRST_ONLY_OUTS = ("caught stealing", "grounded into", "hit into", "lined into", "flied into", "popped into",
                    "fouled into", "bunted into")
_THROWN_OUT = re.compile(r"\bout at (?:first|second|third|home) (c|p)\b")
_PICKOFF_ERROR = re.compile(r"\badvanced to (?:second|third|home) on (?:a|an) (?:throwing |fielding )?error by (?:p|1b)\b")
_TOKEN = re.compile(r"\S+")
_CAPITAL_TOKEN = re.compile(r"(?<!\S)[A-Z]\S*")  # a token that starts with an ASCII capital
_UPPER_ACTION_WORDS = frozenset({"RBI", "SAC", "SF", "SH", "DP", "TP", "KS", "KL", "FC", "BB", "HBP", "IBB"})
_ERROR_CODE = re.compile(r"^E\d")


class Segment:
    """One person and what happened to them on the line."""

    __slots__ = ("name", "actions", "dest", "stole", "caught", "target")

    def __init__(self, name: str, actions: list[str]):
        self.name = name
        self.actions = actions
        self.dest: int | None = None  # final destination, None = no movement stated
        self.stole = False
        self.caught = False
        self.target: int | None = None  # first base named, a hint for finding an unnamed runner
        for i, action in enumerate(actions):
            effect = _action_effect(action)
            if effect == OUT and i > 0 and action.startswith(_FIRST_ONLY_OUTS):
                effect = None  # "reached ..., grounded into double play": the batter is safe
            if effect is not None:
                self.dest = effect
            if action.startswith("stole"):
                self.stole = True
            elif action.startswith("caught stealing"):
                self.caught = True
            if self.target is None:
                self.target = _base_named(action)


class ParsedLine:
    """Everything the text of one line says, before game state is applied."""

    __slots__ = (
        "kind", "event_type", "is_pa", "batter", "runners", "rbi", "balls", "strikes", "pitches",
        "sac", "sub_new", "sub_pos", "sub_old", "ambiguous_batter",
    )

    def __init__(self, kind: str, event_type: str = "other"):
        self.kind = kind
        self.event_type = event_type
        self.is_pa = False
        self.batter: Segment | None = None
        self.runners: list[Segment] = []
        self.rbi = 0
        self.balls: int | None = None
        self.strikes: int | None = None
        self.pitches: str | None = None
        self.sac: str | None = None  # "SH" or "SF"
        self.sub_new = self.sub_pos = self.sub_old = None
        # "X out at first 1b to 2b." with no count: the batter, unless X is a runner on base.
        self.ambiguous_batter = False


def is_summary_line(text: str) -> bool:
    """`R: 1 H: 2 E: 0 LOB: 1`: an inning summary, not a play (it may carry the next half's score)."""
    text = text.strip()
    return text[:1] in _SUMMARY_FIRST and _SUMMARY.match(text) is not None


def _base_named(action: str) -> int | None:
    for word, base in BASE_WORDS.items():
        if word in action:
            return base
    return None


def _action_effect(action: str) -> int | None:
    """Where one action leaves its person: a base, home, out, or None when it says nothing."""
    a = action
    if a.startswith(("advanced to ", "stole ", "placed on ", "reached ")):
        if a.startswith("reached"):
            base = _base_named(a.split(" on ", 1)[0])
            return base if base is not None else FIRST
        return BASE_WORDS.get(a.split(" ")[2 if a.startswith(("advanced", "placed")) else 1].rstrip(","))
    if a.startswith("scored"):
        return HOME
    if a.startswith(("singled", "walked", "intentionally walked", "was intentionally walked", "hit by pitch",
                     "was hit by pitch")):
        return FIRST
    if a.startswith("doubled"):
        return SECOND
    if a.startswith("tripled"):
        return THIRD
    if a.startswith("homered"):
        return HOME
    if a.startswith(("struck out", "grounded out", "flied out", "lined out", "popped", "fouled out", "infield fly",
                     "out at", "out on", "caught stealing")) or " into double play" in a \
            or " into triple play" in a:
        return OUT
    return None


class _ActionInfo:
    """What a person's action text says, whoever the person is; cached by the text.

    Names make most lines unique, but the action texts after the names repeat (about 8,500 distinct
    ones in a season of 950,000), so the work that depends only on them is done once per distinct text.
    """

    __slots__ = ("actions", "dest", "stole", "caught", "target", "dest_as_batter", "is_batter", "out_at",
                 "batter_if_count", "batter_if_no_count", "rbi", "sac", "event_type")

    def __init__(self, raw: str):
        # "walked, RBI: C. Emmertz advanced": some games separate people with ':', left on the last action
        actions = [a.strip().rstrip(":").strip() for a in raw.rstrip(".").split(",") if a.strip().rstrip(":").strip()]
        seg = Segment("", actions)
        self.actions = tuple(actions)
        self.dest, self.stole, self.caught, self.target = seg.dest, seg.stole, seg.caught, seg.target
        self.dest_as_batter = OUT if seg.dest is None else seg.dest  # a batter whose actions place him nowhere is out
        # As the first person of a line: is he the batter, and what did he do?
        verb, mods = actions[0], actions[1:]
        self.is_batter = verb.startswith(_BATTER_VERBS) or verb.startswith("was ") or " into " in verb
        self.out_at = verb.startswith("out at")
        self.batter_if_count = self.out_at and _looks_like_batter(seg, True)
        self.batter_if_no_count = self.out_at and _looks_like_batter(seg, False)
        self.rbi = _rbi(mods)
        self.sac = _sacrifice(verb, mods)
        self.event_type = _batter_event(verb, mods, self.sac)


_ACTION_INFO: dict[str, _ActionInfo] = {}
_ACTION_INFO_MAX = 100_000  # cleared when full: a bound on memory for endless odd inputs


def _remember(cache: dict, limit: int, key, make):
    """cache[key], computed by make(key) on a miss; the cache is emptied when it reaches `limit` entries."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= limit:
            cache.clear()
        value = cache[key] = make(key)
    return value


def _action_info(raw: str) -> _ActionInfo:
    return _remember(_ACTION_INFO, _ACTION_INFO_MAX, raw, _ActionInfo)


_TAIL_PIECES: dict[str, tuple] = {}
_TAIL_PIECES_MAX = 100_000


def _tail_pieces(tail: str) -> tuple[bool, tuple[tuple[str, _ActionInfo], ...]]:
    """The people in a segment from its first verb on, and _may_be_note(tail); cached by that text.

    People: ("", info) for the first person's actions, then (name, info) for anyone run in with
    spaces. Most games separate people with `;`, but some run them together:
    `Wiley, Z. hit by pitch Mulcahy, J. advanced to second Phillips, A. advanced to third`.
    Action words are lower case (plus a few upper-case tags such as RBI), so a capitalized word
    between two verbs starts the next person's name (_next_name_start); a verb with no such word
    before it is a further action of the same person ("advanced to third, out at home").

    The split depends only on the text from the first verb on, and that text repeats when it is
    one person's action ("singled to left field, RBI"); such tails are kept. A tail with more
    people holds their names, so it is not kept, but what follows the second person's first verb is
    a tail of its own, often kept.
    """
    entry = _TAIL_PIECES.get(tail)
    if entry is not None:
        return entry
    spaced = " " + tail  # positions in spaced are one more than in tail (see _VERB)
    verb = _VERB.match(spaced)
    end = verb.end(1) if verb is not None else 1  # (tails start with a verb)
    while True:
        following = _VERB.search(spaced, end)
        if following is None:  # one person
            entry = (_may_be_note(tail), (("", _action_info(tail)),))
            if len(_TAIL_PIECES) >= _TAIL_PIECES_MAX:
                _TAIL_PIECES.clear()
            _TAIL_PIECES[tail] = entry
            return entry
        boundary = _next_name_start(tail, end - 1, following.start(1) - 1)
        if boundary is not None:
            break
        end = following.end(1)  # a further action of the same person
    start = following.start(1) - 1  # the second person's first verb
    rest_maybe_note, rest = _TAIL_PIECES.get(tail[start:]) or _tail_pieces(tail[start:])
    # (A note word cannot run from one person's text into the next person's verb.)
    return (rest_maybe_note or _may_be_note(tail[:start]),
            (("", _action_info(tail[:boundary])), (tail[boundary:start].strip().rstrip(","), rest[0][1])) + rest[1:])


def _may_be_note(text: str) -> bool:
    """Cheap pre-check for _NOTE (whose search costs more than the rest of a typical line's parse).

    An ASCII text can only match if its lower case holds one of these words. Non-ASCII text always
    goes to the regex, as IGNORECASE also matches a few non-ASCII letters to ASCII ones.
    """
    if not text.isascii():
        return True
    low = text.lower()
    return ("play" in low or "review" in low or "challeng" in low or "overturned" in low or "call" in low
            or "visit" in low or "delay" in low or "dropped foul" in low)


_MAY_BE_NOTE: dict[str, bool] = {}  # _may_be_note of names and pitch sequences, which repeat
_MAY_BE_NOTE_MAX = 100_000


def _may_be_note_cached(text: str) -> bool:
    return _remember(_MAY_BE_NOTE, _MAY_BE_NOTE_MAX, text, _may_be_note)


def _segment(name: str, info: _ActionInfo) -> Segment:
    """Segment(name, actions) from cached action info, without recomputing it."""
    seg = _new(Segment)
    seg.name = name
    seg.actions = list(info.actions)
    seg.dest, seg.stole, seg.caught, seg.target = info.dest, info.stole, info.caught, info.target
    return seg


_new = object.__new__  # an instance without running __init__, for the parser's own fast construction


def parse_description(text: str | None) -> ParsedLine:
    """Parse one description. Never raises: what it cannot read comes back as kind 'other'."""
    (kind, event_type, is_pa, batter, runners, rbi, balls, strikes, pitches, sac, sub_new, sub_pos, sub_old,
     ambiguous_batter) = parse_fields(text)
    line = _new(ParsedLine)
    line.kind, line.event_type, line.is_pa, line.rbi, line.sac = kind, event_type, is_pa, rbi, sac
    line.balls, line.strikes, line.pitches = balls, strikes, pitches
    line.sub_new, line.sub_pos, line.sub_old, line.ambiguous_batter = sub_new, sub_pos, sub_old, ambiguous_batter
    line.batter = None if batter is None else _segment(*batter)
    line.runners = [_segment(name, info) for name, info in runners]
    return line


# parse_fields results that do not depend on the text.
_EMPTY_FIELDS = (KIND_EMPTY, "other", False, None, (), 0, None, None, None, None, None, None, None, False)
_SUMMARY_FIELDS = (KIND_SUMMARY, "other", False, None, (), 0, None, None, None, None, None, None, None, False)
_NOTE_FIELDS = (KIND_NOTE, "other", False, None, (), 0, None, None, None, None, None, None, None, False)
_OTHER_FIELDS = (KIND_OTHER, "other", False, None, (), 0, None, None, None, None, None, None, None, False)


def parse_fields(text: str | None) -> tuple:
    """parse_description as a plain tuple, for the replay, which reads every line once and fast.

    The tuple holds ParsedLine's fields in its __slots__ order (kind, event_type, is_pa, batter,
    runners, rbi, balls, strikes, pitches, sac, sub_new, sub_pos, sub_old, ambiguous_batter), with
    each person (the batter, each runner) as (name, _ActionInfo) instead of a Segment: the action
    info is shared between lines and must not be changed.
    """
    if text is None:
        return _EMPTY_FIELDS
    text = text.strip()
    if not text:
        return _EMPTY_FIELDS
    if text[0] in _SUMMARY_FIRST and _SUMMARY.match(text):
        return _SUMMARY_FIELDS
    # A note ("replay review", "mound visit", ...) is a note whatever else the text says. _NOTE is
    # searched on the whole text, but only when a piece of it passes _may_be_note: the pitch letters
    # of the count, each person's name, and each text from a first verb on (cached, as those repeat).
    # A match cannot run from one piece into the next: it holds only letters and single spaces, so it
    # stays clear of the count's parentheses and of ";", and no note word runs on into a verb.
    whole = text
    balls = strikes = pitches = None
    maybe_note = False
    count = _COUNT_AT_PAREN.search(text)
    if count:
        balls, strikes, pitches = count.groups()
        try:
            balls, strikes = _DIGIT[balls], _DIGIT[strikes]
        except KeyError:  # \d also matches non-ASCII digits
            balls, strikes = int(balls), int(strikes)
        if pitches:
            maybe_note = _MAY_BE_NOTE.get(pitches)
            if maybe_note is None:
                maybe_note = _may_be_note_cached(pitches)
        else:
            pitches = ""
        text = text[: count.start()].rstrip() + text[count.end():]

    persons: list[tuple[str, _ActionInfo]] = []
    for raw in text.split(";"):
        raw = raw.strip()
        raw = (raw[:-1] if raw.endswith(".") else raw).strip()  # the sentence's period only: "for HOWIE, N.."
        if not raw:
            continue
        verb = _VERB.search(" " + raw)  # the first verb; positions in " " + raw are one more than in raw
        if verb is None:
            if not persons:
                if _may_be_note(whole) and _NOTE.search(whole):
                    return _NOTE_FIELDS
                return _substitution_or_other(raw, balls, strikes, pitches)
            maybe_note = maybe_note or _may_be_note(raw)
            continue
        start = verb.start(1) - 1
        tail = raw[start:] if start else raw
        tail_maybe_note, pieces = _TAIL_PIECES.get(tail) or _tail_pieces(tail)
        # The first person's name is what comes before the first verb.
        name = raw[:start].strip().rstrip(",")
        if not maybe_note:
            maybe_note = tail_maybe_note or _MAY_BE_NOTE.get(name)
            if maybe_note is None:
                maybe_note = _may_be_note_cached(name)
        persons.append((name, pieces[0][1]))
        if len(pieces) > 1:
            persons.extend(pieces[1:])
    if not persons:
        return _NOTE_FIELDS if _may_be_note(whole) and _NOTE.search(whole) else _OTHER_FIELDS
    if maybe_note and _NOTE.search(whole):
        return _NOTE_FIELDS

    first = persons[0][1]
    if first.is_batter:
        ambiguous = False
    elif first.batter_if_count if count else first.batter_if_no_count:
        ambiguous = count is None  # "X out at first ...": see _looks_like_batter
    else:
        return (KIND_PLAY, _runner_event(text), False, None, persons, 0, balls, strikes, pitches, None, None, None,
                None, False)
    # A batter action that leaves him on base after an out verb ("struck out, reached first on a wild
    # pitch") is already folded into his destination.
    return (KIND_PLAY, first.event_type, True, persons[0], persons[1:], first.rbi, balls, strikes, pitches, first.sac,
            None, None, None, ambiguous)


def _next_name_start(raw: str, start: int, end: int) -> int | None:
    window = raw[start:end]
    if window.isascii():  # the same search, made only on the tokens that start with a capital
        for token in _CAPITAL_TOKEN.finditer(window):
            word = token.group(0)
            if word.rstrip(".,:") not in _UPPER_ACTION_WORDS and not _ERROR_CODE.match(word):
                return start + token.start()
        return None
    for token in _TOKEN.finditer(raw, start, end):
        word = token.group(0)
        if word[0].isupper() and word.rstrip(".,:") not in _UPPER_ACTION_WORDS and not _ERROR_CODE.match(word):
            return token.start()
    return None


def _looks_like_batter(segment: Segment, has_count: bool) -> bool:
    """`X out at first p to 2b, SAC, bunt` is a batter; `X out at second c to ss` (a runner) is not."""
    if "picked off" in segment.actions or "caught stealing" in segment.actions:
        return False
    if has_count or any(a in ("SAC", "bunt", "SF") or "RBI" in a for a in segment.actions[1:]):
        return True
    return segment.actions[0].startswith("out at first")


def _substitution_or_other(raw: str, balls, strikes, pitches) -> tuple:
    sub = _SUB.match(raw)
    if sub:
        pos = sub.group("pos") or ("ph" if sub.group("pinch") == "hit" else "pr")
        old = (sub.group("old") or "").strip() or None
        return (KIND_SUB, "substitution", False, None, (), 0, None, None, None, None, sub.group("new").strip(), pos,
                old, False)
    cont = _FOR_CONTINUATION.match(raw)
    if cont:  # the second half of a substitution split over two lines: "X to p." then "for Y."
        return (KIND_SUB, "substitution", False, None, (), 0, None, None, None, None, None, None,
                cont.group("old").strip(), False)
    return (KIND_OTHER, "other", False, None, (), 0, balls, strikes, pitches, None, None, None, None, False)


def _rbi(mods: list[str]) -> int:
    total = 0
    for mod in mods:
        if mod == "RBI":
            total += 1
        else:
            m = _RBI.match(mod)
            if m:
                total += int(m.group(1))
    return total


def _sacrifice(verb: str, mods: list[str]) -> str | None:
    """SH for a sacrifice bunt, SF for a sacrifice fly (some scorers write SAC on a fly ball)."""
    if "SF" in mods:
        return "SF"
    if "SAC" in mods:
        if "bunt" not in mods and verb.startswith(("flied", "lined", "fouled")):
            return "SF"
        return "SH"
    return None


def _batter_event(verb: str, mods: list[str], sac: str | None) -> str:
    if " into double play" in verb:
        return "double_play"
    if " into triple play" in verb:
        return "triple_play"
    if verb.startswith("singled"):
        return "single"
    if verb.startswith("doubled"):
        return "double"
    if verb.startswith("tripled"):
        return "triple"
    if verb.startswith("homered"):
        return "home_run"
    if "intentionally walked" in verb:
        return "intentional_walk"
    if verb.startswith(("walked", "was walked")):
        return "walk"
    if "hit by pitch" in verb:
        return "hit_by_pitch"
    if verb.startswith("struck out"):
        return "strikeout"
    if verb.startswith("reached"):
        if "fielders choice" in verb or "fielder's choice" in verb:
            return "fielders_choice"
        if "interference" in verb:  # awarded first base: a plate appearance but not an at-bat
            return "catcher_interference"
        if "error" in verb or "dropped" in verb or "muffed" in verb:
            return "reached_on_error"
        return "other"
    if sac == "SH":
        return "sac_bunt"
    if sac == "SF":
        return "sac_fly"
    if verb.startswith(("grounded out", "out at")):
        return "groundout"
    if verb.startswith("flied out"):
        return "flyout"
    if verb.startswith("lined out"):
        return "lineout"
    if verb.startswith("fouled out"):
        return "flyout" if _OUTFIELD.search(verb) else "popout"
    if verb.startswith(("popped", "infield fly")):
        return "popout"
    return "other"


def _runner_event(text: str) -> str:
    """Event type of a line with no batter, from the words that name its cause.

    When no cause is written, the fielder who started the play tells it: a runner thrown out by the
    catcher was caught stealing (or picked off by him); one thrown out by the pitcher, or who took a
    base on the pitcher's or first baseman's error, was in a pickoff play.
    """
    if "caught stealing" in text:
        return "caught_stealing"
    if "picked off" in text or "pickoff" in text:
        return "pickoff"
    if " stole " in text:
        return "stolen_base"
    thrown_out = _THROWN_OUT.search(text)
    if thrown_out:
        return "caught_stealing" if thrown_out.group(1) == "c" else "pickoff"
    if _PICKOFF_ERROR.search(text):
        return "pickoff"
    if "wild pitch" in text:
        return "wild_pitch"
    if "passed ball" in text:
        return "passed_ball"
    if "balk" in text:
        return "balk"
    if "defensive indifference" in text or "indifference" in text:
        return "defensive_indifference"
    return "other"
