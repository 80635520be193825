"""E-invoice files for tests, built with the library the service reads them with (factur-x),
and fpdf2 for the visible PDF: CII and UBL XML written here, Factur-X PDFs made from them."""

from __future__ import annotations

from facturx import generate_from_binary
from fpdf import FPDF

from tests.factories import VALID_SIREN

BUYER_SIREN = "542107651"


def cii_xml(
    *,
    number: str = "F-2026-001",
    type_code: str = "380",
    issue: str = "20261110",
    due: str | None = "20261210",
    amount: str | None = "1200.00",
    currency: str = "EUR",
    seller_legal_id: str = f'<ram:ID schemeID="0002">{VALID_SIREN}</ram:ID>',
    seller_vat: str = "FR44732829320",
    buyer_id: str = "",
    buyer_legal_id: str = f'<ram:ID schemeID="0002">{BUYER_SIREN}</ram:ID>',
    buyer_name: str = "Client Martin SAS",
    level: str = "urn:cen.eu:en16931:2017",
    credits: str | None = None,
) -> bytes:
    """A CII invoice (EN 16931 header, no lines: the service reads none)."""
    due_block = (
        f'<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">'
        f"{due}</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>"
        if due
        else ""
    )
    due_amount = f"<ram:DuePayableAmount>{amount}</ram:DuePayableAmount>" if amount else ""
    credited = (
        f"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{credits}</ram:IssuerAssignedID>"
        "</ram:InvoiceReferencedDocument>"
        if credits
        else ""
    )
    seller_org = (
        f"<ram:SpecifiedLegalOrganization>{seller_legal_id}</ram:SpecifiedLegalOrganization>"
        if seller_legal_id
        else ""
    )
    seller_tax = (
        f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{seller_vat}</ram:ID>'
        "</ram:SpecifiedTaxRegistration>"
        if seller_vat
        else ""
    )
    buyer_org = (
        f"<ram:SpecifiedLegalOrganization>{buyer_legal_id}</ram:SpecifiedLegalOrganization>"
        if buyer_legal_id
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
 xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100">
 <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
  <ram:ID>{level}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
 </rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">{issue}</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Atelier Dupont SARL</ram:Name>{seller_org}
    <ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>{seller_tax}
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty>{buyer_id}<ram:Name>{buyer_name}</ram:Name>{buyer_org}</ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
   <ram:ApplicableTradeTax><ram:CalculatedAmount>200.00</ram:CalculatedAmount>
    <ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>1000.00</ram:BasisAmount>
    <ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>20.00</ram:RateApplicablePercent>
   </ram:ApplicableTradeTax>{due_block}
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:LineTotalAmount>1000.00</ram:LineTotalAmount>
    <ram:TaxBasisTotalAmount>1000.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="{currency}">200.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>1200.00</ram:GrandTotalAmount>{due_amount}
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>{credited}
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def ubl_xml(
    *,
    number: str = "F-2026-101",
    root: str = "Invoice",
    due: str = "<cbc:DueDate>2026-12-15</cbc:DueDate>",
    payment_means: str = "",
    amount: str = "960.00",
    buyer_id: str = "CLI-042",
    billing_reference: str = "",
) -> bytes:
    """A UBL 2.1 invoice, seller by VAT number only, buyer by its identifier (BT-46)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
 <cbc:ID>{number}</cbc:ID>
 <cbc:IssueDate>2026-11-15</cbc:IssueDate>{due}
 <cbc:{root}TypeCode>{381 if root == "CreditNote" else 380}</cbc:{root}TypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>{billing_reference}
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyTaxScheme><cbc:CompanyID>FR44732829320</cbc:CompanyID>
   <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>Atelier Dupont SARL</cbc:RegistrationName>
  </cac:PartyLegalEntity>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyIdentification><cbc:ID>{buyer_id}</cbc:ID></cac:PartyIdentification>
  <cac:PartyLegalEntity><cbc:RegistrationName>Client Martin SAS</cbc:RegistrationName>
  </cac:PartyLegalEntity>
 </cac:Party></cac:AccountingCustomerParty>{payment_means}
 <cac:LegalMonetaryTotal>
  <cbc:LineExtensionAmount currencyID="EUR">800.00</cbc:LineExtensionAmount>
  <cbc:TaxExclusiveAmount currencyID="EUR">800.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">960.00</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="EUR">{amount}</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
</{root}>
""".encode()


def plain_pdf(text: str = "Facture F-2026-001") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


def facturx_pdf(xml: bytes | None = None) -> bytes:
    """A Factur-X PDF: a plain PDF with the CII XML attached, made by the factur-x library."""
    return generate_from_binary(plain_pdf(), xml or cii_xml(), check_xsd=False)
