from tests.matrix import WorkspacePage

CREDENTIALS = {
    "provider": "twilio",
    "label": "Hijack",
    "account_sid": "AC" + "0" * 32,
    "auth_token": "x" * 32,
}

FIELDS = ("api_key", "connection_id", "calls_per_second")  # Telnyx's (the payload has Twilio's), the rate

PAGES = {
    "providers:list": WorkspacePage(),
    "providers:new": WorkspacePage(post=CREDENTIALS, query=("provider", "label"), fields=FIELDS),
    "providers:edit": WorkspacePage(post=CREDENTIALS, fields=FIELDS),
    "providers:verify": WorkspacePage(post={}),
    "providers:disconnect": WorkspacePage(post={}),
}
# connection_id comes from tests/phone_numbers/matrix.py's values(): one connection serves both areas.
