"""Where a phone number is, for local presence (pacing/lua/presence.lua): its area code, its state or region
and its time zone, each a short tag naming one of a pool's presence indexes.

- area: country code + geographic area code, "a:1415" (NANP: the NPA; elsewhere phonenumbers' geographic
  area code, "a:4420" for London); "" for a number without one (mobiles in many countries, toll-free).
- region: NANP numbers of the US and Canada, their state or province, "r:US-CA" (from the geocoder's name
  for the area code, in a table built once); any other number, its country, "r:GB" (phonenumbers' data
  names cities, not regions, outside North America).
- zone: the zone its daily cap resets in (pacer.number_zone), "z:America/Los_Angeles".

Django-free, like the pacer: the tags contain no spaces (the scripts split on them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import phonenumbers

from pacing.npa_states import NPA_STATES

_STATES = {
    # US states and territories, then Canadian provinces and territories: the geocoder's names -> codes
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC", "Washington, D.C.": "DC", "District of Columbia": "DC",
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK", "Northwest Territories": "NT",
    "Nunavut": "NU", "Yukon": "YT",
}  # fmt: skip
_CODES = frozenset(_STATES.values())


class Place(NamedTuple):
    area: str  # "a:1415", "" when the number has no geographic area code
    region: str  # "r:US-CA", "r:GB"; "" when unknown
    zone: str  # "z:America/Los_Angeles"

    @property
    def tags(self) -> tuple[str, ...]:
        """Its indexes, most local first, the unknown ones left out."""
        return tuple(t for t in self if t)


def place_of(e164: str) -> Place:
    """The number's place. North American numbers are placed by their first six digits (area code and
    exchange: phonenumbers' zones and regions are never finer there), each once per process: a campaign
    calls many numbers of few exchanges, and placing one costs a parse (a tenth of a millisecond)."""
    if len(e164) == 12 and e164.startswith("+1"):
        place = _nanp.get(e164[:8])
        if place is None:
            if len(_nanp) >= 100_000:
                _nanp.clear()
            place = _nanp[e164[:8]] = _place(e164)
        return place
    return _place(e164)


_nanp: dict[str, Place] = {}  # '+1NPANXX' -> its place


@lru_cache(maxsize=65536)
def _place(e164: str) -> Place:
    from pacing.pacer import number_zone  # the pacer imports this module

    zone = f"z:{number_zone(e164)}"
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return Place("", "", zone)
    national = str(parsed.national_number)
    cc = parsed.country_code
    area_len = 3 if cc == 1 else phonenumbers.length_of_geographical_area_code(parsed)
    area = f"a:{cc}{national[:area_len]}" if area_len and len(national) > area_len else ""
    region_code = phonenumbers.region_code_for_number(parsed) or ""
    if cc == 1 and region_code in ("US", "CA"):
        state = NPA_STATES.get(national[:3])
        region = f"r:{region_code}-{state}" if state else f"r:{region_code}"
    else:
        region = f"r:{region_code}" if region_code and region_code != "001" else ""
    return Place(area, region, zone)


def npa_states() -> dict[str, str]:
    """NANP area code -> US state or Canadian province code, from phonenumbers' geocoder: the area code's own
    entry ("1415": "California"), else the most common state among its exchanges' ("New York, NY").

    Built into pacing/npa_states.py (`python -m pacing.places`), not at run time: the geocoder's data takes
    seconds and tens of MB to load, in every process that would ask. A test checks the table against it."""
    from phonenumbers.geodata import GEOCODE_DATA

    votes: dict[str, dict[str, int]] = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        state = _state_of(names.get("en", ""))
        if state:
            weight = 1000 if len(prefix) == 4 else 1  # the area code's own entry wins
            counts = votes.setdefault(prefix[1:4], {})
            counts[state] = counts.get(state, 0) + weight
    return {npa: max(counts, key=counts.__getitem__) for npa, counts in votes.items()}


def _state_of(name: str) -> str:
    if name in _STATES:
        return _STATES[name]
    _, _, tail = name.rpartition(", ")
    return tail if tail in _CODES else ""


if __name__ == "__main__":
    rows = "".join(f'    "{npa}": "{state}",\n' for npa, state in sorted(npa_states().items()))
    print(
        '"""NANP area code -> US state or Canadian province code, from phonenumbers\' geocoder '
        f'({phonenumbers.__version__}):\ngenerated by `python -m pacing.places` (pacing/places.py npa_states)."""'
        f"\n\nNPA_STATES = {{\n{rows}}}"
    )
