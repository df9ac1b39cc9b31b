"""Objects and fields of the stand-in org: the metadata that describe returns and writes obey.

The field list follows DESIGN section 5 and the Salesforce Billing developer guide as read in
`research/sfbilling.md`. Where the guide is silent (for example whether the payment type is
required) the field is left optional and the choice is noted beside it, because a stand-in
stricter than Salesforce would push the bot into work a real org does not need.

The Account's "Stripe Customer ID" field has no fixed API name across orgs, so it is chosen
per `Org`: `Stripe_Customer_Id__c` (Billing Extension), `stripeGC__Customer_Id__c` (Stripe
app), none, or several at once (to test that discovery refuses to guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRING_TYPES = frozenset({"string", "textarea", "picklist", "email", "phone", "url"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
ID_TYPES = frozenset({"id", "reference"})

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class Field:
    """One field, with the properties describe reports and writes enforce."""

    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    master_detail: bool = False
    custom: bool = False
    auto_number: bool = False
    name_field: bool = False
    external_id: bool = False
    audit: bool = False  # CreatedDate & co: writable on insert only with "Set Audit Fields"

    @property
    def required(self) -> bool:
        """What Salesforce calls required: not nillable, and nothing fills it in on create."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def is_string(self) -> bool:
        return self.type in STRING_TYPES

    @property
    def is_number(self) -> bool:
        return self.type in NUMBER_TYPES

    @property
    def is_id(self) -> bool:
        return self.type in ID_TYPES

    def describe(self) -> dict[str, Any]:
        """The field entry of `/sobjects/X/describe`, in Salesforce's key names."""
        return {
            "aggregatable": self.type not in ("textarea", "boolean"),
            "autoNumber": self.auto_number,
            "byteLength": self.length * 3 if self.length else 0,
            "calculated": False,
            "cascadeDelete": False,
            "caseSensitive": False,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultedOnCreate": self.defaulted_on_create,
            "digits": 0,
            "externalId": self.external_id,
            "filterable": self.type != "textarea" or self.length <= 255,
            "groupable": self.type not in ("textarea", "double", "currency", "percent"),
            "idLookup": self.type == "id" or self.external_id or self.name_field,
            "label": self.label,
            "length": self.length,
            "name": self.name,
            "nameField": self.name_field,
            "nillable": self.nillable,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_value,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
            "precision": self.precision,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": 0 if self.master_detail else None,
            "restrictedPicklist": self.restricted,
            "scale": self.scale,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.type != "textarea" or self.length <= 255,
            "type": self.type,
            "unique": self.type == "id",
            "updateable": self.updateable,
            "writeRequiresMasterRead": self.master_detail,
        }


@dataclass(frozen=True)
class ChildRelationship:
    name: str  # e.g. blng__PaymentMethods__r
    child: str  # child sObject
    field: str  # the child's reference field
    cascade_delete: bool


@dataclass
class SObject:
    """One object: its fields in describe order, key prefix and relationships."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, Field]
    custom_setting: bool = False
    createable: bool = True
    autonumber_format: str | None = None  # e.g. "PM-{0000000}"
    children: dict[str, ChildRelationship] = field(default_factory=dict)  # lower name -> rel

    def __post_init__(self) -> None:
        self.by_lower = {name.lower(): f for name, f in self.fields.items()}
        self.rel_by_lower = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }
        self.required_fields = [f.name for f in self.fields.values() if f.required]
        self.insert_defaults: dict[str, Any] = {}
        for f in self.fields.values():
            if f.type == "boolean":
                self.insert_defaults[f.name] = int(bool(f.default_value))
            elif f.default_value is not None:
                self.insert_defaults[f.name] = f.default_value

    def field(self, name: str) -> Field | None:
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        return self.rel_by_lower.get(name.lower())

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            **self.summary(version),
            "childRelationships": [
                {
                    "cascadeDelete": rel.cascade_delete,
                    "childSObject": rel.child,
                    "deprecatedAndHidden": False,
                    "field": rel.field,
                    "relationshipName": rel.name,
                    "restrictedDelete": False,
                }
                for rel in self.children.values()
            ],
            "fields": [f.describe() for f in self.fields.values()],
            "recordTypeInfos": [],
            "urls": {
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
                "sobject": base,
                "uiDetailTemplate": None,
            },
        }

    def summary(self, version: str) -> dict[str, Any]:
        """The entry of the global describe (`/sobjects`)."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        writable = self.createable
        return {
            "activateable": False,
            "createable": writable,
            "custom": self.custom,
            "customSetting": self.custom_setting,
            "deletable": writable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": False,
            "mruEnabled": False,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": not self.custom_setting,
            "triggerable": True,
            "undeletable": writable,
            "updateable": writable,
            "urls": {
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
                "sobject": base,
            },
        }


# Field builders ----------------------------------------------------------------------------


def _id(label: str) -> Field:
    return Field(
        "Id",
        label,
        "id",
        length=18,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
    )


def _audit(with_owner: bool) -> list[Field]:
    fields = []
    if with_owner:
        fields.append(
            Field(
                "OwnerId",
                "Owner ID",
                "reference",
                length=18,
                nillable=False,
                defaulted_on_create=True,
                reference_to=("User",),
                relationship_name="Owner",
            )
        )
    fields += [
        Field(
            "IsDeleted",
            "Deleted",
            "boolean",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            default_value=False,
        ),
        Field(
            "CreatedDate",
            "Created Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            audit=True,
        ),
        Field(
            "CreatedById",
            "Created By ID",
            "reference",
            length=18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            reference_to=("User",),
            relationship_name="CreatedBy",
            audit=True,
        ),
        Field(
            "LastModifiedDate",
            "Last Modified Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            audit=True,
        ),
        Field(
            "LastModifiedById",
            "Last Modified By ID",
            "reference",
            length=18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
            audit=True,
        ),
        Field(
            "SystemModstamp",
            "System Modstamp",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
    ]
    return fields


def _s(name: str, label: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, label, "string", length=length, custom=name.endswith("__c"), **kw)


def _autonumber_name(label: str) -> Field:
    """The Name of a record numbered by Salesforce (PM-0000001): read-only, set on create."""
    return Field(
        "Name",
        label,
        "string",
        length=80,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        auto_number=True,
        name_field=True,
    )


def _b(name: str, label: str, default: bool) -> Field:
    return Field(
        name,
        label,
        "boolean",
        nillable=False,
        defaulted_on_create=True,
        default_value=default,
        custom=name.endswith("__c"),
    )


def _pick(
    name: str, label: str, values: tuple[str, ...], restricted: bool = False, **kw: Any
) -> Field:
    return Field(
        name,
        label,
        "picklist",
        length=255,
        picklist=values,
        restricted=restricted,
        custom=name.endswith("__c"),
        **kw,
    )


def _ref(name: str, label: str, to: str, rel: str, master_detail: bool = False, **kw: Any) -> Field:
    if master_detail:
        kw.setdefault("nillable", False)
        kw.setdefault("updateable", False)  # master-detail without "allow reparenting"
    return Field(
        name,
        label,
        "reference",
        length=18,
        reference_to=(to,),
        relationship_name=rel,
        master_detail=master_detail,
        custom=name.endswith("__c"),
        **kw,
    )


def _num(name: str, label: str, typ: str = "double", precision: int = 18, scale: int = 2) -> Field:
    return Field(name, label, typ, precision=precision, scale=scale, custom=name.endswith("__c"))


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


# The objects -------------------------------------------------------------------------------

KEY_PREFIXES = {
    "User": "005",
    "Account": "001",
    "blng__PaymentGateway__c": "a0G",
    "blng__PaymentMethod__c": "a0M",
    "blng__BillingConfig__c": "a0C",
    "blng__PaymentTransaction__c": "a0T",
    "blng__Invoice__c": "a0I",
}
BULK_JOB_PREFIX = "750"
QUERY_LOCATOR_PREFIX = "01g"
ORG_PREFIX = "00D"

GATEWAY_TYPES = (
    "AuthorizeDotNet",
    "Authorize.net",
    "CyberSource",
    "PayFlowPro",
    "Payeezy",
    "PayPal",
    "Stripe",
    "Stripe (Universal Extension)",
)
GATEWAY_STATUSES = (
    "Success",
    "Decline",
    "Failure",
    "Indeterminate",
    "PermanentFail",
    "RequiresReview",
    "SystemError",
    "ValidationError",
)
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
YEARS = tuple(str(y) for y in range(2015, 2046))


def _stripe_fields(names: str | list[str] | tuple[str, ...] | None) -> list[Field]:
    if names is None:
        return []
    if isinstance(names, str):
        names = [names]
    return [Field(name, "Stripe Customer ID", "string", length=255, custom=True) for name in names]


def build_schema(
    stripe_customer_field: str | list[str] | tuple[str, ...] | None,
    pm_stripe_customer_field: str | list[str] | tuple[str, ...] | None,
) -> dict[str, SObject]:
    """All objects of one org, with the chosen Stripe Customer ID field name(s)."""
    user = SObject(
        "User",
        "User",
        "Users",
        KEY_PREFIXES["User"],
        False,
        _fields(
            _id("User ID"),
            Field("Username", "Username", "string", length=80, nillable=False),
            Field("Name", "Full Name", "string", length=121, nillable=False, name_field=True),
            Field("Email", "Email", "email", length=80, nillable=False),
            _b("IsActive", "Active", True),
            *_audit(False),
        ),
        createable=False,
    )
    account = SObject(
        "Account",
        "Account",
        "Accounts",
        KEY_PREFIXES["Account"],
        False,
        _fields(
            _id("Account ID"),
            Field("Name", "Account Name", "string", length=255, nillable=False, name_field=True),
            _pick(
                "Type",
                "Account Type",
                (
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Channel Partner / Reseller",
                    "Installation Partner",
                    "Technology Partner",
                    "Other",
                ),
            ),
            Field("AccountNumber", "Account Number", "string", length=40),
            _pick(
                "Industry",
                "Industry",
                (
                    "Agriculture",
                    "Banking",
                    "Communications",
                    "Education",
                    "Healthcare",
                    "Manufacturing",
                    "Retail",
                    "Technology",
                    "Other",
                ),
            ),
            Field("Phone", "Account Phone", "phone", length=40),
            Field("Website", "Website", "url", length=255),
            Field("BillingStreet", "Billing Street", "textarea", length=255),
            Field("BillingCity", "Billing City", "string", length=40),
            Field("BillingState", "Billing State/Province", "string", length=80),
            Field("BillingPostalCode", "Billing Zip/Postal Code", "string", length=20),
            Field("BillingCountry", "Billing Country", "string", length=80),
            Field("Description", "Account Description", "textarea", length=32000),
            *_stripe_fields(stripe_customer_field),
            *_audit(True),
        ),
    )
    gateway = SObject(
        "blng__PaymentGateway__c",
        "Payment Gateway",
        "Payment Gateways",
        KEY_PREFIXES["blng__PaymentGateway__c"],
        True,
        _fields(
            _id("Record ID"),
            Field(
                "Name", "Payment Gateway Name", "string", length=80, nillable=False, name_field=True
            ),
            _b("blng__Active__c", "Active", True),
            _b("blng__Default__c", "Default", False),
            _pick("blng__GatewayType__c", "Gateway Type", GATEWAY_TYPES, restricted=True),
            Field("blng__Notes__c", "Notes", "textarea", length=32768, custom=True),
            *_audit(True),
        ),
    )
    method = SObject(
        "blng__PaymentMethod__c",
        "Payment Method",
        "Payment Methods",
        KEY_PREFIXES["blng__PaymentMethod__c"],
        True,
        _fields(
            _id("Record ID"),
            _autonumber_name("Payment Method"),
            _ref("blng__Account__c", "Account", "Account", "blng__Account__r", master_detail=True),
            _b("blng__Active__c", "Active", True),
            _b("blng__AutoPay__c", "AutoPay", False),
            _ref(
                "blng__PaymentGateway__c",
                "Payment Gateway",
                "blng__PaymentGateway__c",
                "blng__PaymentGateway__r",
            ),
            _s("blng__PaymentGatewayToken__c", "Payment Gateway Token"),
            # Restricted picklist; the guide does not mark it required, so it is optional.
            _pick("blng__PaymentType__c", "Payment Type", ("ACH", "Credit Card"), restricted=True),
            _pick(
                "blng__CardType__c",
                "Card Type",
                ("American Express", "Discover", "Mastercard", "Visa"),
            ),
            _s("blng__CardLastFour__c", "Card Last Four", length=4),
            _pick("blng__CardExpirationMonth__c", "Card Expiration Month", MONTHS),
            _pick("blng__CardExpirationYear__c", "Card Expiration Year", YEARS),
            _s("blng__CardBIN__c", "Card BIN", length=6),
            _s("blng__Nameoncard__c", "Name On Card"),
            _s("blng__BankAccountName__c", "Bank Account Name"),
            _pick(
                "blng__BankAccountType__c",
                "Bank Account Type",
                ("Business Checking", "Checking", "Savings", "Individual", "Company"),
            ),
            _s("blng__BankName__c", "Bank Name"),
            _s("blng__BillingFirstName__c", "Billing First Name", length=40),
            _s("blng__BillingLastName__c", "Billing Last Name", length=80),
            Field("blng__BillingEmail__c", "Billing Email", "email", length=80, custom=True),
            _s("blng__NickName__c", "Nickname", length=80),
            Field(
                "blng__GatewayResponse__c",
                "Gateway Response",
                "textarea",
                length=32768,
                custom=True,
            ),
            *_stripe_fields(pm_stripe_customer_field),
            *_audit(False),
        ),
        autonumber_format="PM-{0000000}",
    )
    config = SObject(
        "blng__BillingConfig__c",
        "Billing Config",
        "Billing Config",
        KEY_PREFIXES["blng__BillingConfig__c"],
        True,
        _fields(
            _id("Record ID"),
            Field("Name", "Name", "string", length=38, nillable=False, name_field=True),
            _b("blng__BooleanValue__c", "Boolean Value", False),
            _s("blng__Category__c", "Category", length=55),
            Field("blng__DateValue__c", "Date Value", "date", custom=True),
            _s("blng__Description__c", "Description", length=255),
            _s("blng__FieldType__c", "Field Type", length=50),
            _num("blng__NumberValue__c", "Number Value"),
            _s("blng__PicklistIndicator__c", "Picklist Indicator", length=255),
            _num("blng__Sequence__c", "Sequence", precision=18, scale=0),
            _s("blng__StringValue__c", "String Value", length=255),
            *_audit(False),
        ),
        custom_setting=True,
    )
    invoice = SObject(
        "blng__Invoice__c",
        "Invoice",
        "Invoices",
        KEY_PREFIXES["blng__Invoice__c"],
        True,
        _fields(
            _id("Record ID"),
            _autonumber_name("Invoice Number"),
            _ref("blng__Account__c", "Account", "Account", "blng__Account__r"),
            _pick(
                "blng__CorrectiveAction__c",
                "Corrective Action",
                ("Action Required", "Review Payment", "Refund Payment"),
            ),
            _b("blng__InvoiceLocked__c", "Invoice Locked", False),
            _pick(
                "blng__InvoiceStatus__c",
                "Invoice Status",
                ("Draft", "Initiated", "Posted", "Cancelled", "Rebilled", "Error"),
                defaulted_on_create=True,
                default_value="Draft",
            ),
            _pick("blng__PaymentStatus__c", "Payment Status", ("Unpaid", "Partially Paid", "Paid")),
            _num("blng__Balance__c", "Balance", "currency"),
            Field("blng__DueDate__c", "Due Date", "date", custom=True),
            Field("blng__InvoiceDate__c", "Invoice Date", "date", custom=True),
            _ref(
                "blng__PaymentMethod__c",
                "Payment Method",
                "blng__PaymentMethod__c",
                "blng__PaymentMethod__r",
            ),
            Field(
                "blng__LastPaymentRunProcessingMessage__c",
                "Last Payment Run Processing Message",
                "textarea",
                length=32768,
                custom=True,
            ),
            *_audit(True),
        ),
        autonumber_format="INV-{0000000}",
    )
    transaction = SObject(
        "blng__PaymentTransaction__c",
        "Payment Transaction",
        "Payment Transactions",
        KEY_PREFIXES["blng__PaymentTransaction__c"],
        True,
        _fields(
            _id("Record ID"),
            _autonumber_name("Transaction Number"),
            _ref("blng__Account__c", "Account", "Account", "blng__Account__r"),
            _ref(
                "blng__PaymentMethod__c",
                "Payment Method",
                "blng__PaymentMethod__c",
                "blng__PaymentMethod__r",
            ),
            _ref(
                "blng__PaymentGateway__c",
                "Payment Gateway",
                "blng__PaymentGateway__c",
                "blng__PaymentGateway__r",
            ),
            _ref(
                "blng__RequestInvoice__c",
                "Request Invoice",
                "blng__Invoice__c",
                "blng__RequestInvoice__r",
            ),
            _num("blng__Amount__c", "Amount", "currency"),
            _pick("blng__GatewayStatus__c", "Gateway Status", GATEWAY_STATUSES),
            _pick(
                "blng__Type__c", "Type", ("Authorization", "Capture", "Charge", "Refund", "Void")
            ),
            _pick("blng__Status__c", "Status", ("In Progress", "Completed", "Processed")),
            _s("blng__GatewayID__c", "Gateway ID"),
            Field("blng__GatewayDate__c", "Gateway Date", "datetime", custom=True),
            _s("blng__ResponseCode__c", "Response Code"),
            _s("blng__ResponseMessage__c", "Response Message"),
            _b("blng__IsPaymentProcessedSuccessfully__c", "Payment Created", False),
            *_audit(True),
        ),
        autonumber_format="PT-{0000000}",
    )
    objects = {o.name: o for o in (user, account, gateway, method, config, invoice, transaction)}
    _link_children(objects)
    return objects


# Child relationship names, as describe's childRelationships lists them on the parent.
_CHILD_NAMES = {
    ("blng__PaymentMethod__c", "blng__Account__c"): "blng__PaymentMethods__r",
    ("blng__PaymentMethod__c", "blng__PaymentGateway__c"): "blng__PaymentMethods__r",
    ("blng__PaymentTransaction__c", "blng__Account__c"): "blng__PaymentTransactions__r",
    ("blng__PaymentTransaction__c", "blng__PaymentMethod__c"): "blng__PaymentTransactions__r",
    ("blng__PaymentTransaction__c", "blng__PaymentGateway__c"): "blng__PaymentTransactions__r",
    ("blng__PaymentTransaction__c", "blng__RequestInvoice__c"): "blng__PaymentTransactions__r",
    ("blng__Invoice__c", "blng__Account__c"): "blng__Invoices__r",
    ("blng__Invoice__c", "blng__PaymentMethod__c"): "blng__Invoices__r",
}


def _link_children(objects: dict[str, SObject]) -> None:
    for child in objects.values():
        for f in child.fields.values():
            name = _CHILD_NAMES.get((child.name, f.name))
            if not name:
                continue
            parent = objects[f.reference_to[0]]
            parent.children[name.lower()] = ChildRelationship(
                name, child.name, f.name, cascade_delete=f.master_detail
            )


def lookup_object(objects: dict[str, SObject], name: str) -> SObject | None:
    """Object names are case-insensitive in SOQL and REST paths."""
    found = objects.get(name)
    if found is not None:
        return found
    lowered = name.lower()
    for obj in objects.values():
        if obj.name.lower() == lowered:
            return obj
    return None
