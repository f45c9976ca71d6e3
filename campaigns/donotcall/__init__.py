"""The workspace's do-not-call list: numbers its campaigns never dial.

entries.py reads what people type, paste or upload; services.py writes the list (each change audited) and
keeps the stop endpoint's token; selectors.py reads it for its page and export; suppress.py is the
dispatcher's one call: a due call whose destination is listed moves to "suppressed", with the reason,
before any caller ID is claimed for it. views.py and urls.py serve the page (/w/<slug>/do-not-call/);
the stop endpoint an agent's tool calls is voice's (hooks:stop).
"""
