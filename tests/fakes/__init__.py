"""Local HTTP servers that speak Twilio's and Telnyx's wire formats (see common.py for faults and logs)."""
