"""The emulator's data: companies (merchants), each with its own catalog and orders moving
through checkout. Every company is a silo: each model says how its rows reach their company
(``COMPANY_PATH``) so that ``Model.objects.of(company)`` is the one way API code reads them."""

from __future__ import annotations

from typing import Self

from django.db import models


class CompanyQuerySet(models.QuerySet):
    def of(self, company: Company) -> Self:
        """Only the rows that belong to ``company``."""
        return self.filter(**{self.model.COMPANY_PATH: company})


CompanyManager = models.Manager.from_queryset(CompanyQuerySet)


class Country(models.Model):
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=2, unique=True)
    phone_prefix = models.CharField(max_length=8)
    currency_code = models.CharField(max_length=3)

    class Meta:
        ordering = ["name"]


class State(models.Model):
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="states")
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=8)

    class Meta:
        ordering = ["name"]


class Company(models.Model):
    name = models.CharField(max_length=200)
    password = models.CharField(max_length=64)  # for the Check In App
    pin = models.CharField(max_length=8)
    country = models.ForeignKey(Country, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class CompanyUser(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="users")
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]


class ApiKey(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_keys")
    access_token = models.CharField(max_length=128, unique=True)
    read = models.BooleanField(default=True)
    write = models.BooleanField(default=False)
    name = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["id"]

    @property
    def rights(self) -> frozenset[str]:
        granted = {"read": self.read, "write": self.write}
        return frozenset(right for right, ok in granted.items() if ok)


class Venue(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="venues")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField(null=True, blank=True)
    time_zone = models.CharField(max_length=64)  # the API's time zone name, e.g. "London"
    address1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    zipcode = models.CharField(max_length=20, blank=True)
    state = models.ForeignKey(State, null=True, blank=True, on_delete=models.SET_NULL)
    country = models.ForeignKey(Country, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = CompanyManager()


class Category(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=200)
    subtitle = models.CharField(max_length=200, null=True, blank=True)
    position = models.IntegerField(default=0)
    short_description = models.TextField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    image = models.CharField(max_length=300, blank=True)
    objects = CompanyManager()


class TicketType(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="ticket_types")
    name = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, null=True, blank=True)
    include_name = models.BooleanField(default=False)
    require_name = models.BooleanField(default=False)
    include_email = models.BooleanField(default=False)
    require_email = models.BooleanField(default=False)
    attachable = models.BooleanField(default=True)
    transferable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = CompanyManager()


class Form(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="forms")
    name = models.CharField(max_length=200)
    objects = CompanyManager()


class FormField(models.Model):
    TYPES = [("text_field", "text_field"), ("multiple_choice", "multiple_choice")]
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(max_length=300)
    type = models.CharField(max_length=20, choices=TYPES)
    required = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    help_text = models.CharField(max_length=300, blank=True)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class FormOption(models.Model):
    field = models.ForeignKey(FormField, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=200)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class Event(models.Model):
    COMPANY_PATH = "company"
    TYPES = [("date", "date"), ("parent", "parent"), ("recurring", "recurring")]
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=10, choices=TYPES, default="date")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    capacity = models.IntegerField(null=True, blank=True)
    position = models.IntegerField(default=0)
    description = models.TextField(blank=True)  # served as list.setting.description
    image = models.CharField(max_length=300, blank=True)
    categories = models.ManyToManyField(Category, blank=True, related_name="events")
    tags = models.JSONField(default=list, blank=True)
    form = models.ForeignKey(Form, null=True, blank=True, on_delete=models.SET_NULL)
    recurrences = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = CompanyManager()

    def save(self, *args, **kwargs):
        # An event made without a company (sessions, occurrences) is its venue's.
        if self.company_id is None and self.venue_id is not None:
            self.company_id = self.venue.company_id
        super().save(*args, **kwargs)


class RegistrationType(models.Model):
    """A registration type with its variant (the purchasable product) and stock item."""

    COMPANY_PATH = "event__company"

    STOCK_STATUSES = [
        (s, s) for s in ("selling", "paused", "reserve", "request", "not_on_sale", "sold_out")
    ]
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registration_types")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    description = models.TextField(null=True, blank=True)
    variant_id = models.IntegerField(unique=True)
    stock_item_id = models.IntegerField(unique=True)
    stock_status = models.CharField(max_length=12, choices=STOCK_STATUSES, default="selling")
    available = models.IntegerField(default=100)
    on_sale_at = models.DateTimeField(null=True, blank=True)
    quantity = models.IntegerField(default=1)  # tickets issued per purchase unit
    grouped = models.BooleanField(default=False)
    order_min = models.IntegerField(null=True, blank=True)
    order_max = models.IntegerField(null=True, blank=True)
    service_fee_amount = models.IntegerField(default=0)  # cents per ticket
    service_fee_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    requires_shipping = models.BooleanField(default=False)
    position = models.IntegerField(default=0)
    objects = CompanyManager()

    class Meta:
        ordering = ["position", "id"]


class Price(models.Model):
    registration_type = models.ForeignKey(
        RegistrationType, on_delete=models.CASCADE, related_name="prices"
    )
    currency = models.CharField(max_length=3)
    amount = models.IntegerField()  # cents
    default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-default", "currency"]


class Coupon(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=50)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.IntegerField(null=True, blank=True)  # cents, in `currency`
    currency = models.CharField(max_length=3, blank=True)
    active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    objects = CompanyManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="coupon_code_per_company")
        ]


class Order(models.Model):
    COMPANY_PATH = "company"
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20, unique=True)
    guest_token = models.CharField(max_length=64, db_index=True)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=20, default="cart")
    state_before_expiry = models.CharField(max_length=20, blank=True)
    payment_state = models.CharField(max_length=20, null=True, blank=True)
    first_name = models.CharField(max_length=100, null=True, blank=True)
    last_name = models.CharField(max_length=100, null=True, blank=True)
    email = models.CharField(max_length=200, null=True, blank=True)
    phone_number = models.CharField(max_length=30, null=True, blank=True)
    phone_number_country = models.CharField(max_length=2, null=True, blank=True)
    contact_id = models.IntegerField(null=True, blank=True)
    bill_address = models.JSONField(null=True, blank=True)
    ship_address = models.JSONField(null=True, blank=True)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL)
    inventory_held = models.BooleanField(default=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    can_checkout_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = CompanyManager()


class LineItem(models.Model):
    COMPANY_PATH = "order__company"
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    registration_type = models.ForeignKey(RegistrationType, on_delete=models.PROTECT)
    quantity = models.IntegerField()
    price = models.IntegerField()  # cents per unit, in the order currency
    objects = CompanyManager()

    class Meta:
        ordering = ["id"]


class Ticket(models.Model):
    COMPANY_PATH = "event__company"
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="tickets"
    )
    line_item = models.ForeignKey(
        LineItem, null=True, blank=True, on_delete=models.CASCADE, related_name="tickets"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE)
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT)
    registration_type = models.ForeignKey(RegistrationType, on_delete=models.PROTECT)
    number = models.CharField(max_length=32, unique=True)
    barcode_id = models.CharField(max_length=20)
    status = models.CharField(max_length=20, default="pending")
    name = models.CharField(max_length=200, null=True, blank=True)
    email = models.CharField(max_length=200, null=True, blank=True)
    keep = models.BooleanField(default=False)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    email_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = CompanyManager()

    class Meta:
        ordering = ["-id"]


class Payment(models.Model):
    COMPANY_PATH = "order__company"
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    number = models.CharField(max_length=20, unique=True)
    amount = models.IntegerField()
    state = models.CharField(max_length=20, default="processing")
    payment_method_id = models.IntegerField()
    token = models.CharField(max_length=200)
    brand = models.CharField(max_length=30, blank=True)
    last_four = models.CharField(max_length=4, blank=True)
    cardholder_name = models.CharField(max_length=200, blank=True)
    response_code = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    objects = CompanyManager()

    class Meta:
        ordering = ["id"]


class FormResponse(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="responses")
    form = models.ForeignKey(Form, on_delete=models.PROTECT)

    class Meta:
        ordering = ["id"]


class Answer(models.Model):
    response = models.ForeignKey(FormResponse, on_delete=models.CASCADE, related_name="answers")
    field = models.ForeignKey(FormField, on_delete=models.PROTECT)
    value = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["field__position", "id"]


class Operation(models.Model):
    """Asynchronous work after an event create/update. Its progress is derived from the
    time since it started, phase by phase."""

    COMPANY_PATH = "event__company"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="operations")
    action = models.CharField(max_length=10, default="save")
    phases = models.JSONField(default=list)  # names, in order
    fail_phase = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    objects = CompanyManager()
