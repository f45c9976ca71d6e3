from tests.matrix import WorkspacePage

CREDENTIALS = {
    "provider": "twilio",
    "label": "Hijack",
    "account_sid": "AC" + "0" * 32,
    "auth_token": "x" * 32,
}

PAGES = {
    "providers:list": WorkspacePage(),
    "providers:new": WorkspacePage(post=CREDENTIALS),
    "providers:edit": WorkspacePage(post=CREDENTIALS),
    "providers:verify": WorkspacePage(post={}),
    "providers:disconnect": WorkspacePage(post={}),
}
# connection_id comes from tests/phone_numbers/matrix.py's values(): one connection serves both areas.
