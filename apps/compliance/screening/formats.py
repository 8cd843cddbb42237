"""Parsers for the published list formats. Each returns ListedParty rows or raises FormatError.

- UN Security Council consolidated list (XML): CONSOLIDATED_LIST / INDIVIDUALS / INDIVIDUAL
  (FIRST_NAME .. FOURTH_NAME, NAME_ORIGINAL_SCRIPT, INDIVIDUAL_ALIAS / ALIAS_NAME,
  NATIONALITY / VALUE, INDIVIDUAL_DATE_OF_BIRTH / DATE or YEAR, REFERENCE_NUMBER, UN_LIST_TYPE)
  and ENTITIES / ENTITY (FIRST_NAME, ENTITY_ALIAS / ALIAS_NAME, ENTITY_ADDRESS / COUNTRY).
  Parsed with defusedxml: no entity expansion, no external entities, no DTD retrieval.
- OFAC SDN (sdn.csv, no header): ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
  Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; "-0-" is null. Aliases optionally
  from alt.csv (ent_num, alt_num, alt_type, alt_name, alt_remarks).
- Internal CSV with a header: name,aliases,country,birth_date,list_id (aliases separated by ";").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_LIST_BYTES = 200 * 1024 * 1024


class FormatError(ValueError):
    """The file is not a list of the announced format (the message says what is wrong)."""


@dataclass
class ListedParty:
    ref: str
    entry_type: str  # individual | entity
    name: str
    aliases: list[str] = field(default_factory=list)
    country: str = ""
    birth_date: str = ""
    programs: str = ""


def _text(node: Element | None, tag: str) -> str:
    if node is None:
        return ""
    child = node.find(tag)
    return " ".join((child.text or "").split()) if child is not None and child.text else ""


def parse_un_xml(data: bytes) -> list[ListedParty]:
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise FormatError(f"not a readable XML document: {exc}") from exc
    if root.tag != "CONSOLIDATED_LIST":
        raise FormatError(f"expected a CONSOLIDATED_LIST root element, found {root.tag}")
    parties: list[ListedParty] = []
    for node in root.iterfind("INDIVIDUALS/INDIVIDUAL"):
        name = " ".join(
            part
            for part in (_text(node, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"))
            if part
        )
        aliases = [_text(a, "ALIAS_NAME") for a in node.iterfind("INDIVIDUAL_ALIAS")]
        original = _text(node, "NAME_ORIGINAL_SCRIPT")
        if original:
            aliases.append(original)
        birth = node.find("INDIVIDUAL_DATE_OF_BIRTH")
        parties.append(
            ListedParty(
                ref=_text(node, "REFERENCE_NUMBER") or _text(node, "DATAID"),
                entry_type="individual",
                name=name,
                aliases=[a for a in aliases if a],
                country=", ".join(
                    v.text.strip() for v in node.iterfind("NATIONALITY/VALUE") if v.text and v.text.strip()
                ),
                birth_date=_text(birth, "DATE") or _text(birth, "YEAR"),
                programs=_text(node, "UN_LIST_TYPE"),
            )
        )
    for node in root.iterfind("ENTITIES/ENTITY"):
        aliases = [_text(a, "ALIAS_NAME") for a in node.iterfind("ENTITY_ALIAS")]
        parties.append(
            ListedParty(
                ref=_text(node, "REFERENCE_NUMBER") or _text(node, "DATAID"),
                entry_type="entity",
                name=_text(node, "FIRST_NAME"),
                aliases=[a for a in aliases if a],
                country=_text(node.find("ENTITY_ADDRESS"), "COUNTRY"),
                programs=_text(node, "UN_LIST_TYPE"),
            )
        )
    return _checked(parties)


def _ofac_value(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def parse_ofac_csv(data: bytes, alt: bytes | None = None) -> list[ListedParty]:
    text = _decode(data)
    parties: dict[str, ListedParty] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and not row[0].strip()) or row[0].strip() == "\x1a":
            continue  # blank lines and the DOS end-of-file mark the SDN file ends with
        if len(row) != 12:
            raise FormatError(f"line {number}: expected the 12 SDN columns, found {len(row)}")
        ent_num, name, sdn_type, program = (_ofac_value(v) for v in row[:4])
        if not ent_num.isdigit():
            raise FormatError(f"line {number}: ent_num {ent_num!r} is not a number")
        remarks = _ofac_value(row[11])
        birth = re.search(r"DOB ([^;.]+)", remarks)
        parties[ent_num] = ListedParty(
            ref=ent_num,
            entry_type="individual" if sdn_type.lower() == "individual" else "entity",
            name=name,
            country=_ofac_value(row[9]),
            birth_date=birth.group(1).strip() if birth else "",
            programs=program,
        )
    if alt:
        for number, row in enumerate(csv.reader(io.StringIO(_decode(alt))), start=1):
            if not row or (len(row) == 1 and not row[0].strip()) or row[0].strip() == "\x1a":
                continue
            if len(row) < 4:
                raise FormatError(f"alt.csv line {number}: expected ent_num, alt_num, alt_type, alt_name")
            party = parties.get(_ofac_value(row[0]))
            alias = _ofac_value(row[3])
            if party is not None and alias:
                party.aliases.append(alias)
    return _checked(list(parties.values()))


def parse_simple_csv(data: bytes) -> list[ListedParty]:
    reader = csv.DictReader(io.StringIO(_decode(data)))
    expected = ["name", "aliases", "country", "birth_date", "list_id"]
    if [h.strip() for h in (reader.fieldnames or [])] != expected:
        raise FormatError("expected the header name,aliases,country,birth_date,list_id")
    parties: list[ListedParty] = []
    for number, row in enumerate(reader, start=2):
        name = " ".join((row.get("name") or "").split())
        ref = (row.get("list_id") or "").strip()
        if not name or not ref:
            raise FormatError(f"line {number}: name and list_id are required")
        parties.append(
            ListedParty(
                ref=ref,
                entry_type="individual",
                name=name,
                aliases=[a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()],
                country=(row.get("country") or "").strip(),
                birth_date=(row.get("birth_date") or "").strip(),
            )
        )
    return _checked(parties)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older SDN files are Latin-1


def _checked(parties: list[ListedParty]) -> list[ListedParty]:
    if not parties:
        raise FormatError("the list has no entries")
    refs: set[str] = set()
    for party in parties:
        if not party.name or not party.ref:
            raise FormatError(f"an entry without a name or reference ({party.ref or party.name!r})")
        if party.ref in refs:
            raise FormatError(f"reference {party.ref} appears twice")
        refs.add(party.ref)
        party.ref = party.ref[:64]
        party.name = party.name[:300]
        party.country = party.country[:100]
        party.birth_date = party.birth_date[:40]
        party.programs = party.programs[:200]
    return parties


PARSERS = {"un": parse_un_xml, "csv": parse_simple_csv}
