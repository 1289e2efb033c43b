"""Printable documents: plain data in, PDF bytes out. No Flask, no models.

Each `render_*` takes frozen dataclasses (and, for lists, an iterable of rows that is consumed
once, so a database cursor can feed it) and returns the bytes of a PDF that depends on its input
alone: the same data prints the same bytes. Each `write_*` twin writes the same bytes to a binary
file as they are produced, in memory bounded by one page: for registers of any length.
"""

from pdf._layout import BinarySink
from pdf.certificate import (
    CertificateDocument,
    Representative,
    render_certificate,
    render_certificates,
    write_certificates,
)
from pdf.reconciliation import (
    ReconciliationHeader,
    StockRangeRow,
    render_reconciliation_act,
    write_reconciliation_act,
)
from pdf.refusal import RefusalNotice, render_refusal_notice, write_refusal_notice
from pdf.register import (
    RegisterHeader,
    RegisterRow,
    SupplementaryListHeader,
    SupplementaryRow,
    render_register,
    render_supplementary_list,
    write_register,
    write_supplementary_list,
)

__all__ = [
    "BinarySink",
    "CertificateDocument",
    "ReconciliationHeader",
    "RefusalNotice",
    "RegisterHeader",
    "RegisterRow",
    "Representative",
    "StockRangeRow",
    "SupplementaryListHeader",
    "SupplementaryRow",
    "render_certificate",
    "render_certificates",
    "render_reconciliation_act",
    "render_refusal_notice",
    "render_register",
    "render_supplementary_list",
    "write_certificates",
    "write_reconciliation_act",
    "write_refusal_notice",
    "write_register",
    "write_supplementary_list",
]
