"""Travel between game sites, for the MLB rest/travel features.

Why: a team that flew across the country overnight is, by published practice (FiveThirtyEight's MLB Elo
took about 0.3 Elo per cube-root mile), slightly worse than a rested one at home. The game logs name
each game's park (Retrosheet park ids such as "BOS07"); its first three letters are the city, and
`mlb_park_cities.csv` (shipped beside this module) holds each city's coordinates, including the parks
of later seasons and the games abroad (Tokyo, San Juan, Monterrey, London, Sydney, Seoul). A site that
is not a park id or whose city is not in the table has no coordinates, and travel to or from it counts
as unknown (0 in the features, with no guess).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

PARK_CITIES = Path(__file__).with_name("mlb_park_cities.csv")
PARK_ID = r"^[A-Z]{3}\d{2}$"
EARTH_RADIUS_MILES = 3958.8


@lru_cache(maxsize=1)
def park_cities() -> pl.DataFrame:
    """city_code, city, lat, lon: one row per Retrosheet park city."""
    table = pl.read_csv(PARK_CITIES, schema={"city_code": pl.String, "city": pl.String, "lat": pl.Float64,
                                             "lon": pl.Float64}, glob=False)
    if table["city_code"].is_duplicated().any():
        raise ValueError(f"{PARK_CITIES}: a city code is listed twice")
    return table


def with_site_coordinates(frame: pl.DataFrame, location: str = "location") -> pl.DataFrame:
    """frame plus site_lat / site_lon (null unless `location` is a park id of a known city)."""
    code = pl.when(pl.col(location).str.contains(PARK_ID)).then(pl.col(location).str.slice(0, 3))
    cities = park_cities().select("city_code", site_lat="lat", site_lon="lon")
    return frame.with_columns(_city_code=code).join(cities, left_on="_city_code", right_on="city_code",
                                                    how="left", maintain_order="left").drop("_city_code")


def great_circle_miles(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Haversine distance in miles (null when any coordinate is null)."""
    p1, p2 = lat1.radians(), lat2.radians()
    dlat, dlon = p2 - p1, (lon2 - lon1).radians()
    a = (dlat / 2).sin() ** 2 + p1.cos() * p2.cos() * (dlon / 2).sin() ** 2
    return 2 * EARTH_RADIUS_MILES * a.sqrt().clip(upper_bound=1.0).arcsin()
