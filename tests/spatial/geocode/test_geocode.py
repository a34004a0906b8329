"""Postcode and address geocoding: the pure functions, on files in the published layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial.errors import InputFormatError, ParameterError
from spatial.geocode.address import AddressIndex, match_addresses
from spatial.geocode.gazetteer_files import read_gazetteer
from spatial.geocode.postcode import PostcodeDirectory, geocode_postcodes, normalise_postcodes
from spatial.synthetic.gazetteer import address_set

ONSPD = (b"pcd,pcd2,pcds,dointr,doterm,oscty,oseast1m,osnrth1m,osgrdind,lat,long\n"
         b"S9  3XX,S9  3XX,S9 3XX,198001,,E11000003,438000,390000,1,53.4,-1.4\n"
         b"S9  3XY,S9  3XY,S9 3XY,198001,,E11000003,438200,390400,1,53.4,-1.4\n"
         b"S9  4AB,S9  4AB,S9 4AB,198001,,E11000003,439000,391000,1,53.4,-1.4\n"
         b"S10 1AB,S10 1AB,S10 1AB,198001,200506,E11000003,433000,387000,1,53.4,-1.5\n"
         b"OL1 1AA,OL1 1AA,OL1 1AA,198001,,E11000001,392000,405000,1,53.5,-2.1\n"
         b"S9  9ZZ,S9  9ZZ,S9 9ZZ,198001,,E11000003,,,9,,\n"
         b"S9 3XX,S9 3XX,S9 3XX,198001,,E11000003,438000,390000,1,53.4,-1.4\n")
CODEPOINT = (b'"S9  3XX",10,438000,390000,"E92000001","E19000003","E18000003","E11000003",'
             b'"E08000019","E05010863"\n'
             b'"S9  3XY",10,438200,390400,"E92000001","","","","",""\n'
             b'"S1  2AB",90,0,0,"E92000001","","","","",""\n'
             b'"NOTACODE",10,1,2,"E92000001","","","","",""\n')


def directory() -> PostcodeDirectory:
    read = read_gazetteer(ONSPD, "onspd", file_name="onspd.csv")
    f = read.frame
    return PostcodeDirectory.build(f["postcode"], f["easting"], f["northing"], f["terminated"])


def test_onspd_columns_by_name_and_rejections_named() -> None:
    read = read_gazetteer(ONSPD, "onspd", file_name="onspd.csv")
    assert read.frame["postcode"].tolist() == ["S9 3XX", "S9 3XY", "S9 4AB", "S10 1AB",
                                               "OL1 1AA"]
    assert read.frame["terminated"].tolist() == ["", "", "", "200506", ""]
    assert [(r.file, r.row, r.field) for r in read.rejections] == [
        ("onspd.csv", 7, "osgrdind"), ("onspd.csv", 8, "pcds")]
    assert "appears more than once" in read.rejections[1].reason


def test_onspd_without_a_grid_column_is_refused_naming_it() -> None:
    with pytest.raises(InputFormatError, match="oseast1m"):
        read_gazetteer(b"pcds,lat,long\nS9 3XX,53.4,-1.4\n", "onspd", file_name="x.csv")


def test_codepoint_columns_by_position() -> None:
    read = read_gazetteer(CODEPOINT, "codepoint", file_name="s.csv")
    assert read.frame["postcode"].tolist() == ["S9 3XX", "S9 3XY"]
    assert read.frame["easting"].tolist() == [438000.0, 438200.0]
    assert [(r.row, r.field) for r in read.rejections] == [
        (3, "Positional_quality_indicator"), (4, "Postcode")]


def test_address_extract_with_a_column_map() -> None:
    data = b"ref,addr,e,n\n1,12 HIGH STREET,438000,390000\n2,,438000,390000\n3,1 A ROAD,x,1\n"
    read = read_gazetteer(data, "addresses", file_name="a.csv",
                          address_map="uprn=ref,address=addr,easting=e,northing=n")
    assert read.frame["uprn"].tolist() == ["1"]
    assert [(r.row, r.field) for r in read.rejections] == [(3, "addr"), (4, "e")]
    with pytest.raises(InputFormatError, match="X_COORDINATE"):
        read_gazetteer(data, "addresses", file_name="a.csv")
    with pytest.raises(ParameterError, match="'uprn' is not key=value"):
        read_gazetteer(data, "addresses", file_name="a.csv", address_map="uprn")
    with pytest.raises(ParameterError, match="unknown key 'x'"):
        read_gazetteer(data, "addresses", file_name="a.csv", address_map="x=1")
    with pytest.raises(InputFormatError, match="not a readable CSV"):
        read_gazetteer(b"\xff\xfe\x00garbage\x00", "onspd", file_name="a.csv")
    with pytest.raises(InputFormatError, match="no header row"):
        read_gazetteer(b"Postcode,PQI,E,N\nS9 3XX,10,1,2\n", "codepoint", file_name="c.csv")


def test_normalised_variants() -> None:
    norm = normalise_postcodes(["s93xx", " S9   3XX ", "S9 3XX", "s9 3", "S9", "", None])
    assert norm["code"].tolist() == ["S9 3XX", "S9 3XX", "S9 3XX", "S9 3", "S9", "", ""]
    assert norm["kind"].tolist() == ["full", "full", "full", "sector", "district", "empty",
                                     "empty"]
    assert not norm["corrected"].any()


def test_exact_terminated_partial_slips_and_rejections() -> None:
    d = directory()
    m = geocode_postcodes(["S9 3XX", "s10 1ab", "S9 3", "S9", "0L1 1AA", "S9 3XX.", "S9 3X0",
                           "ZZ9 9ZZ", "S8 3", "hello", ""], d, field="Postcode")
    assert m.found.tolist() == [True, True, True, True, True, True, False, False, False, False,
                                False]
    assert m.precision[:6].tolist() == ["postcode", "postcode", "postcode_sector",
                                        "postcode_district", "postcode", "postcode"]
    assert (m.easting[0], m.northing[0]) == (438000.0, 390000.0)
    # sector and district centroids: means of the live postcodes in them
    assert (m.easting[2], m.northing[2]) == (438100.0, 390200.0)
    assert m.easting[3] == pytest.approx((438000 + 438200 + 439000) / 3)
    assert m.flag[:6].tolist() == ["", "terminated", "", "", "corrected", "corrected"]
    assert m.matched[4] == "OL1 1AA"
    warnings = m.warnings("Postcode")
    assert "S10 1AB is terminated" in warnings[1]
    assert "'0L1 1AA' read as OL1 1AA" in warnings[4]
    assert warnings[0] == ""
    assert "'S9 3X0' is not a postcode; read as S9 3XO" in m.reason[6]
    assert m.reason[7] == "Postcode ZZ9 9ZZ is not in the postcode directory"
    assert "sector S8 3 has no live postcodes" in m.reason[8]
    assert "'hello' is not a UK postcode" in m.reason[9]
    assert m.reason[10] == "Postcode is empty"


def test_labelled_address_set_precision_recall_and_no_wrong_match() -> None:
    labelled = address_set(seed=3, queries=300)
    ex = labelled.extract
    index = AddressIndex.build(ex["UPRN"], ex["ADDRESS"], ex["X_COORDINATE"], ex["Y_COORDINATE"])
    m = match_addresses(labelled.queries, index)
    got = np.where(m.found, pd.Index(ex["UPRN"]).get_indexer(m.uprn), -2)
    correct = m.found & (got == labelled.truth)
    wrong = m.found & (got != labelled.truth)
    answerable = labelled.truth >= 0
    precision = correct.sum() / max(m.found.sum(), 1)
    recall = correct.sum() / answerable.sum()
    print(f"\nlabelled addresses: {len(labelled.queries)} queries ({answerable.sum()} in the "
          f"extract), accepted {m.found.sum()}, correct {correct.sum()}, wrong {wrong.sum()}; "
          f"precision {precision:.3f}, recall {recall:.3f}")
    for kind in np.unique(labelled.kinds):
        k = labelled.kinds == kind
        print(f"  {kind}: {k.sum()} queries, accepted {m.found[k].sum()}, correct "
              f"{correct[k].sum()}")
    assert len(labelled.queries) >= 200
    assert not wrong.any(), labelled.queries[wrong].tolist()
    assert not m.found[~answerable].any()
    assert recall >= 0.9
    # every kind of mess is in the set and answered
    for kind in ("abbrev", "typo", "flat_order", "case_punct", "no_town"):
        assert correct[labelled.kinds == kind].sum() > 10, kind
    # rejections say why
    assert all(isinstance(r, str) and r for r in m.reason[~m.found])


def test_flat_numbers_must_match_and_saint_is_not_street() -> None:
    texts = ["FLAT 3, 12 HIGH STREET, SHEFFIELD", "12 HIGH STREET, SHEFFIELD",
             "12 ST MARYS ROAD, SHEFFIELD", "12 MARYS STREET, SHEFFIELD"]
    index = AddressIndex.build(["a", "b", "c", "d"], texts, [1, 2, 3, 4], [1, 2, 3, 4])
    m = match_addresses(["12 high st flat 3", "Flat 4, 12 High St", "12 St Mary's Rd",
                         "12 Marys St"], index)
    assert m.uprn[0] == "a"
    assert not m.found[1] and "house/flat numbers 12 4" in m.reason[1]
    assert m.uprn[2] == "c" and m.uprn[3] == "d"
