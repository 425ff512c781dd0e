"""Countries and states the sandbox knows (ids are stable across seeds)."""

COUNTRIES = [
    # (id, name, code, phone prefix, currency)
    (14, "Australia", "AU", "61", "AUD"),
    (15, "Austria", "AT", "43", "EUR"),
    (22, "Belgium", "BE", "32", "EUR"),
    (31, "Brazil", "BR", "55", "BRL"),
    (39, "Canada", "CA", "1", "CAD"),
    (58, "Denmark", "DK", "45", "DKK"),
    (74, "France", "FR", "33", "EUR"),
    (81, "Germany", "DE", "49", "EUR"),
    (100, "Ireland", "IE", "353", "EUR"),
    (106, "Italy", "IT", "39", "EUR"),
    (109, "Japan", "JP", "81", "JPY"),
    (140, "Mexico", "MX", "52", "MXN"),
    (155, "Netherlands", "NL", "31", "EUR"),
    (158, "New Zealand", "NZ", "64", "NZD"),
    (165, "Norway", "NO", "47", "NOK"),
    (177, "Portugal", "PT", "351", "EUR"),
    (197, "Singapore", "SG", "65", "SGD"),
    (205, "Spain", "ES", "34", "EUR"),
    (211, "Sweden", "SE", "46", "SEK"),
    (212, "Switzerland", "CH", "41", "CHF"),
    (233, "United Kingdom", "GB", "44", "GBP"),
    (234, "United States", "US", "1", "USD"),
]

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
]
CA_PROVINCES = [
    ("AB", "Alberta"), ("BC", "British Columbia"), ("MB", "Manitoba"), ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"), ("NS", "Nova Scotia"), ("NT", "Northwest Territories"),
    ("NU", "Nunavut"), ("ON", "Ontario"), ("PE", "Prince Edward Island"), ("QC", "Quebec"),
    ("SK", "Saskatchewan"), ("YT", "Yukon"),
]
AU_STATES = [
    ("ACT", "Australian Capital Territory"), ("NSW", "New South Wales"),
    ("NT", "Northern Territory"), ("QLD", "Queensland"), ("SA", "South Australia"),
    ("TAS", "Tasmania"), ("VIC", "Victoria"), ("WA", "Western Australia"),
]
STATES = {"US": (4100, US_STATES), "CA": (3900, CA_PROVINCES), "AU": (1400, AU_STATES)}
