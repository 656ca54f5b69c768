"""Canonical ids: `sport:league:season:entity_type:entity_id`, e.g. `baseball:ncaa:2021:game:5194376`."""

from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by '-': 'Saint Martin's' -> 'saint-martin-s'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")


def canonical_id(sport: str, league: str, season: int, entity_type: str, entity_id: str | int) -> str:
    entity = str(entity_id) if isinstance(entity_id, int) or str(entity_id).isdigit() else slug(str(entity_id))
    return f"{sport}:{league}:{season}:{entity_type}:{entity}"
