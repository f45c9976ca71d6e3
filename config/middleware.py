"""Providers' and agent platforms' signed POSTs (/hooks/: status callbacks, hundreds a second while a
campaign runs) take a short middleware chain of their own, settings.HOOK_MIDDLEWARE: the security headers
and the empty tenant scope, without what serves a person's browser (sessions, sign-in, messages, CSRF,
htmx, static files), which a webhook never uses and every request pays for. Everything else goes on
through settings.MIDDLEWARE."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

HOOKS = "/hooks/"  # config/urls.py: every webhook's URL is under it


class HookRequests:
    """First in settings.MIDDLEWARE: a webhook's request goes to the hooks' own chain, which resolves the
    URL and calls the view as Django's own handler does."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.hooks = _HooksHandler(settings.HOOK_MIDDLEWARE)

    def __call__(self, request):
        return (self.hooks if request.path_info.startswith(HOOKS) else self.get_response)(request)


class _HooksHandler(BaseHandler):
    """Django's handler over another middleware list (BaseHandler.load_middleware reads settings.MIDDLEWARE),
    synchronous as our WSGI workers are."""

    def __init__(self, middleware: list[str]):
        super().__init__()
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(middleware):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def __call__(self, request):
        return self._middleware_chain(request)  # the outer handler's get_response did the rest
