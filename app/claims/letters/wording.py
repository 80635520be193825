"""The short labels of a letter in each language (headers, captions, the reminders already sent).
The sentences are in the templates (templates/<language>/), the figures in app.legal.figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.ledger.debtors.schemas import Language

# How a mise en demeure is delivered: by registered letter with AR (the default), or served by a
# commissaire de justice (its deadline then runs from the date of service).
Delivery = Literal["registered_letter", "commissaire_de_justice"]


@dataclass(frozen=True)
class Labels:
    invoice_headers: tuple[str, str, str, str, str]
    total_outstanding: str
    subject: str  # "Objet : {subject}"
    reference: str  # "Réf. : {refs}"
    one_invoice: str  # "facture n° {number}"
    several_invoices: str  # "factures n°s {numbers}"
    number_sign: str  # kept with the number that follows it on a PDF line
    and_: str
    or_: str
    place_date: str  # "Fait à {city}, le {date}"
    date_only: str
    siret: str
    siren: str
    email_line: str
    phone_line: str
    by_email: str  # the creditor's contact, in a sentence
    by_phone: str
    delivery_lines: dict[Delivery, str]
    reminder: str  # "{label} du {date}"
    action_labels: dict[str, str]
    channel_labels: dict[str, str]
    signature_caption: str
    page: str  # "Page {n}/{nb}"


FRENCH = Labels(
    invoice_headers=("Facture n°", "Date", "Échéance", "Montant", "Reste dû"),
    total_outstanding="Total restant dû",
    subject="Objet : {}",
    reference="Réf. : {}",
    one_invoice="facture n° {}",
    several_invoices="factures n°s {}",
    number_sign="n°s?",
    and_="et",
    or_="ou",
    place_date="Fait à {city}, le {date}",
    date_only="Le {date}",
    siret="SIRET : {}",
    siren="SIREN : {}",
    email_line="E-mail : {}",
    phone_line="Tél. : {}",
    by_email="par e-mail ({})",
    by_phone="par téléphone ({})",
    delivery_lines={
        "registered_letter": "Lettre recommandée avec accusé de réception",
        "commissaire_de_justice": "Signifiée par commissaire de justice",
    },
    reminder="{label} du {date}",
    action_labels={
        "pre_reminder": "pré-relance",
        "reminder": "relance",
        "reminder_1": "première relance",
        "reminder_2": "deuxième relance",
        "formal_notice": "mise en demeure",
        "phone_call": "appel téléphonique",
    },
    channel_labels={
        "email": "par e-mail",
        "phone": "par téléphone",
        "letter": "par courrier",
        "registered_letter": "par lettre recommandée",
        "sms": "par SMS",
    },
    signature_caption="Signature",
    page="Page {n}/{nb}",
)

# For debtors abroad: English wording, French law (the references stay those of the French codes,
# named with their French titles so that a reader can look them up).
ENGLISH = Labels(
    invoice_headers=("Invoice no.", "Date", "Due date", "Amount", "Outstanding"),
    total_outstanding="Total outstanding",
    subject="Subject: {}",
    reference="Ref.: {}",
    one_invoice="invoice no. {}",
    several_invoices="invoices nos. {}",
    number_sign="nos?\\.",
    and_="and",
    or_="or",
    place_date="{city}, {date}",
    date_only="{date}",
    siret="SIRET: {}",
    siren="SIREN: {}",
    email_line="E-mail: {}",
    phone_line="Tel.: {}",
    by_email="by e-mail ({})",
    by_phone="by phone ({})",
    delivery_lines={
        "registered_letter": "Registered letter with acknowledgement of receipt "
        "(lettre recommandée avec accusé de réception)",
        "commissaire_de_justice": "Served by a commissaire de justice (judicial officer)",
    },
    reminder="{label} of {date}",
    action_labels={
        "pre_reminder": "pre-reminder",
        "reminder": "reminder",
        "reminder_1": "first reminder",
        "reminder_2": "second reminder",
        "formal_notice": "formal notice",
        "phone_call": "phone call",
    },
    channel_labels={
        "email": "by e-mail",
        "phone": "by phone",
        "letter": "by post",
        "registered_letter": "by registered letter",
        "sms": "by text message",
    },
    signature_caption="Signature",
    page="Page {n}/{nb}",
)

LABELS: dict[Language, Labels] = {"fr": FRENCH, "en": ENGLISH}
