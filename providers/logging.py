import logging
import re

# Credentials as they appear in HTTP debug output, form dumps and reprs.
_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
    re.compile(r"(?i)((?:auth_token|authtoken|api_key|apikey|password)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,&}]+"),
    re.compile(r"KEY[0-9A-F]{16,}_[A-Za-z0-9]+"),  # Telnyx v2 API keys
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Scrubs credentials from every log record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
