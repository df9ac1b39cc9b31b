"""Reading import files: encodings, delimiters, quoting, line numbers, limits, hostile files."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.imports import FileRejected, Limits
from commands.imports.columns import Field, match_header
from tests.import_fakes import NEW_HEADER as HEADER
from tests.import_fakes import csv_bytes, prepare

GW = "a0G000000000001"
ROW = ["Acme", "cus_acme", GW, "true", "pm_acme_1"]


def rejected(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(FileRejected) as caught:
        prepare(data, limits=limits)
    assert caught.value.reason
    return caught.value.reason


# --- files that cannot be used --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\n\n  \r\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (csv_bytes(HEADER), "header but no rows"),
        (csv_bytes(HEADER, ",,,,", ""), "header but no rows"),
        (b"\x00\x01\x02binary\x00stuff", "does not look like a CSV"),
        (bytes(range(1, 32)) * 20, "does not look like a CSV"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old-style Excel"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "not readable text"),
        (csv_bytes(["Name|Stripe|Token"], ["Acme|cus_1|pm_1"]), "separator"),
        (csv_bytes(["Acme", "cus_1", "pm_1"], ["Beta", "cus_2", "pm_2"]), "must name the columns"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "bom-only",
        "header-only",
        "header-and-blank-rows",
        "nul-bytes",
        "control-chars",
        "xlsx",
        "xls",
        "pdf",
        "undecodable",
        "wrong-delimiter",
        "no-header",
    ],
)
def test_unusable_files_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    assert reason in rejected(data)


def test_size_limit_is_checked_before_reading() -> None:
    data = csv_bytes(HEADER, *[ROW] * 50)
    assert "the limit is 1 KB" in rejected(data, Limits(max_bytes=1000))


def test_row_limit_refuses_one_row_too_many() -> None:
    rows = [[f"Acme {i}", f"cus_{i:04d}", GW, "true", f"pm_{i:04d}"] for i in range(11)]
    assert "more than 10 rows" in rejected(csv_bytes(HEADER, *rows), Limits(max_rows=10))
    assert prepare(csv_bytes(HEADER, *rows[:10]), limits=Limits(max_rows=10)).rows == 10


@pytest.mark.parametrize(
    "header",
    [
        ["Account Name", "Stripe Customer ID", "Account Name"],
        ["Account Name", "Stripe Customer ID", "account_name"],
        ["Account Name", "Stripe Customer ID", "Name"],
        ["Account Name", "Notes", "NOTES"],
    ],
)
def test_duplicated_columns_reject_the_file(header: list[str]) -> None:
    reason = rejected(csv_bytes(header, ["a", "b", "c"]))
    assert "keep one of them" in reason
    assert "column 3" in reason


# --- encodings and delimiters ---------------------------------------------------------------


def test_utf8_with_bom_reads_the_first_column() -> None:
    report = prepare(b"\xef\xbb\xbf" + csv_bytes(HEADER, ROW))
    assert report.encoding == "UTF-8 with BOM"
    assert report.columns["Account Name"] == "Account Name"
    assert report.warnings == []


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_is_read_with_a_warning(codec: str) -> None:
    text = csv_bytes(HEADER, ["Société Générale", *ROW[1:]]).decode()
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    report = prepare(data)
    assert report.encoding == "UTF-16"
    assert "UTF-16" in report.warnings[0]
    assert report.planned[0].account_fields["Name"] == "Société Générale"


def test_windows_1252_is_read_with_a_warning() -> None:
    data = csv_bytes(HEADER, ["Müller – Café", *ROW[1:]]).decode().encode("cp1252")
    report = prepare(data)
    assert report.encoding == "Windows-1252"
    assert "Windows-1252" in report.warnings[0]
    assert report.planned[0].account_fields["Name"] == "Müller – Café"


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), (",", "comma")])
def test_delimiter_is_sniffed_and_named(delimiter: str, name: str) -> None:
    rows = [["Acme, Inc.", "cus_acme", GW, "true", "pm_acme_1"]]
    lines = [delimiter.join(HEADER)] + [
        delimiter.join(f'"{c}"' if "," in c else c for c in r) for r in rows
    ]
    report = prepare(csv_bytes(*lines))
    assert report.delimiter == name
    assert report.planned[0].account_fields["Name"] == "Acme, Inc."
    assert report.problems == []


# --- quoting and line numbers ---------------------------------------------------------------


def test_quoted_newlines_keep_physical_line_numbers() -> None:
    data = (
        ",".join(HEADER) + "\r\n"
        '"Acme\r\nHoldings, ""Main""",cus_acme,' + GW + ",true,pm_acme_1\r\n"
        "\r\n"
        "Beta,cus_beta," + GW + ",maybe,pm_beta_1\r\n"
    ).encode()
    report = prepare(data)
    assert [row.line for row in report.planned] == [2, 5]
    assert report.planned[0].account_fields["Name"] == 'Acme\r\nHoldings, "Main"'
    assert [(p.line, p.column, p.code) for p in report.problems] == [
        (5, "Active", "invalid_boolean")
    ]


def test_an_unclosed_quote_is_reported_where_it_opens() -> None:
    data = csv_bytes(
        HEADER,
        ROW,
        ['"Beta, Inc', "cus_beta", GW, "true", "pm_beta_1"],
        ["Gamma", "cus_gamma", GW, "true", "pm_gamma_1"],
    )
    report = prepare(data)
    assert report.rows == 2
    assert (3, "", "malformed_row") in [(p.line, p.column, p.code) for p in report.problems]
    assert report.planned[1].status == "rejected"


def test_blank_lines_are_ignored_but_counted() -> None:
    report = prepare(
        csv_bytes("", HEADER, "", ROW, ",,,,", ["Beta", "cus_beta", GW, "1", "pm_beta_1"])
    )
    assert report.rows == 2
    assert [row.line for row in report.planned] == [4, 6]
    assert {p.line for p in report.problems} == set()


def test_very_long_cells_are_a_row_problem() -> None:
    long_name = "A" * 200_000  # beyond the csv module's default field limit
    report = prepare(csv_bytes(HEADER, [long_name, *ROW[1:]], ROW[:1] + ["x" * 20_000] + ROW[2:]))
    found = [(p.line, p.column, p.code) for p in report.problems]
    assert (2, "Account Name", "value_too_long") in found
    assert (3, "Stripe Customer ID", "value_too_long") in found
    assert all(len(p.message) < 200 for p in report.problems)
    assert report.plan.rejected_rows == 2


def test_ragged_rows_are_reported() -> None:
    report = prepare(
        csv_bytes(
            HEADER,
            ["Acme", "Inc.", *ROW[1:]],  # an unquoted comma shifted every value
            ROW[:3],  # values missing at the end
            [*ROW, "", ""],  # trailing empty cells, as spreadsheets write them
        )
    )
    found = [(p.line, p.code, str(p.severity)) for p in report.problems]
    assert (2, "malformed_row", "error") in found
    assert (3, "malformed_row", "warning") in found
    assert (3, "missing_required", "error") in found
    assert not [f for f in found if f[0] == 4]
    assert report.planned[0].source["column 6"] == "pm_acme_1"


def test_formula_cells_are_warnings_on_their_cell() -> None:
    report = prepare(
        csv_bytes(
            HEADER + ["Notes"],
            ['=HYPERLINK("x")', *ROW[1:], "@SUM(A1)"],
            ["Beta", "cus_beta", GW, "true", "pm_beta_1", "-5"],
        )
    )
    found = [(p.line, p.column, p.code) for p in report.problems if p.code == "formula_injection"]
    assert found == [(2, "Account Name", "formula_injection"), (2, "Notes", "formula_injection")]
    assert report.plan.rejected_rows == 0


# --- header matching ------------------------------------------------------------------------


def test_headers_match_labels_and_api_names_in_any_case() -> None:
    header = [
        "ACCOUNT_ID",
        "stripe_customer_id__c",
        "blng__PaymentGateway__c",
        " blng__active__c ",
        "payment gateway token",
        "Card  Expiration Month",
        "EXPIRATION_YEAR",
        "auto pay",
        "Nickname",
    ]
    match = match_header(header)
    assert match.columns == {
        Field.ACCOUNT_ID: 0,
        Field.STRIPE_CUSTOMER_ID: 1,
        Field.GATEWAY_ID: 2,
        Field.ACTIVE: 3,
        Field.TOKEN: 4,
        Field.EXP_MONTH: 5,
        Field.EXP_YEAR: 6,
        Field.AUTOPAY: 7,
    }
    assert match.unknown == [8]


def test_org_specific_api_names_are_matched() -> None:
    match = match_header(
        ["Billing_Stripe_Id__c", "My_Token__c"],
        {Field.STRIPE_CUSTOMER_ID: ["Billing_Stripe_Id__c"], Field.TOKEN: ["My_Token__c"]},
    )
    assert match.columns == {Field.STRIPE_CUSTOMER_ID: 0, Field.TOKEN: 1}


# --- nothing but FileRejected, ever ---------------------------------------------------------

_WORDS = st.sampled_from(
    [*HEADER, "Account Id", "AutoPay", "cus_1", "pm_1", "tok_1", "001000000000001", GW,
     "true", "no", "=1+1", "", " "]
)  # fmt: skip


@st.composite
def csvish(draw: st.DrawFn) -> str:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    cells = st.one_of(_WORDS, st.text(max_size=12), st.just('"'))
    rows = draw(st.lists(st.lists(cells, max_size=7), max_size=12))
    return newline.join(delimiter.join(row) for row in rows)


def _prepare_or_reason(data: bytes) -> None:
    try:
        report = prepare(data, limits=Limits(max_bytes=20_000, max_rows=20))
    except FileRejected as exc:
        assert exc.reason.strip()
        return
    assert report.rows == len(report.planned) > 0
    rejected_rows = [row for row in report.planned if row.status == "rejected"]
    assert report.plan.rejected_rows == len(rejected_rows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_give_a_report_or_a_reason(data: bytes) -> None:
    _prepare_or_reason(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csvish(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_csvish_text_gives_a_report_or_a_reason(text: str, codec: str) -> None:
    _prepare_or_reason(text.encode(codec, errors="replace"))
