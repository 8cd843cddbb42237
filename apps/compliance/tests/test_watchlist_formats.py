from pathlib import Path

import pytest

from apps.compliance.screening.formats import FormatError, parse_ofac_csv, parse_simple_csv, parse_un_xml

DATA = Path(__file__).parent / "data"


def test_un_consolidated_xml_gives_individuals_and_entities_with_aliases():
    parties = {p.ref: p for p in parse_un_xml((DATA / "un_consolidated_sample.xml").read_bytes())}
    assert set(parties) == {"QDi.006", "LYi.009", "QDe.004"}
    zawahiri = parties["QDi.006"]
    assert zawahiri.name == "AIMAN MUHAMMED RABI AL-ZAWAHIRI"
    assert zawahiri.entry_type == "individual"
    assert "Ayman al-Zawahari" in zawahiri.aliases
    assert "أيمن محمد ربيع الظواهري" in zawahiri.aliases
    assert zawahiri.country == "Egypt"
    assert zawahiri.birth_date == "1951-06-19"
    assert parties["LYi.009"].birth_date == "1942"
    qaida = parties["QDe.004"]
    assert (qaida.entry_type, qaida.name, qaida.country) == ("entity", "AL-QAIDA", "Afghanistan")
    assert qaida.aliases == ["The Base", "Islamic Salvation Foundation"]


def test_ofac_sdn_csv_reads_nulls_birth_dates_and_optional_aliases():
    parties = {p.ref: p for p in parse_ofac_csv((DATA / "sdn.csv").read_bytes(), (DATA / "alt.csv").read_bytes())}
    assert set(parties) == {"36", "173", "2674", "7714", "9001"}
    assert parties["36"].entry_type == "entity"
    assert parties["36"].programs == "CUBA"
    assert parties["36"].aliases == ["AERO-CARIBBEAN"]
    assert parties["2674"].name == "ESCOBAR GAVIRIA, Pablo"
    assert parties["2674"].birth_date == "01 Dec 1949"
    assert parties["9001"].aliases == ["张卫国"]
    without_alt = {p.ref: p for p in parse_ofac_csv((DATA / "sdn.csv").read_bytes())}
    assert without_alt["7714"].aliases == []


def test_internal_csv_splits_aliases():
    parties = parse_simple_csv((DATA / "internal.csv").read_bytes())
    assert [p.ref for p in parties] == ["INT-0001", "INT-0002", "INT-0003"]
    assert parties[0].aliases == ["Wang Xiaoming", "Xiao Ming Wang"]


@pytest.mark.parametrize(
    ("parser", "data", "message"),
    [
        (parse_un_xml, b"<not-closed", "not a readable XML"),
        (parse_un_xml, b"<OTHER_LIST/>", "CONSOLIDATED_LIST"),
        (parse_un_xml, b"<CONSOLIDATED_LIST><INDIVIDUALS/></CONSOLIDATED_LIST>", "no entries"),
        (parse_ofac_csv, b'36,"ONLY THREE",x\r\n', "12 SDN columns"),
        (parse_ofac_csv, b'abc,"X","-0- ","C","","","","","","","",""\r\n', "not a number"),
        (parse_simple_csv, b"who,what\nx,y\n", "header"),
        (parse_simple_csv, b"name,aliases,country,birth_date,list_id\n,,CN,,X1\n", "required"),
        (parse_simple_csv, b"name,aliases,country,birth_date,list_id\nA B,,,,X1\nC D,,,,X1\n", "twice"),
    ],
)
def test_malformed_lists_are_refused_with_a_reason(parser, data, message):
    with pytest.raises(FormatError, match=message):
        parser(data)


def test_xml_entity_expansion_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&lol2;</FIRST_NAME>"
        b"<REFERENCE_NUMBER>X</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(FormatError):
        parse_un_xml(bomb)
