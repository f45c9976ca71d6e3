"""A checkout's own WSGI application (config.wsgi), which also counts the SQL queries of a request that
asks for it with an X-Bench-Queries header and answers the count in the same header. bench/pages.py
serves each checkout through this, so both are counted alike without a change to either; a request
without the header (every timed one) costs a dictionary look-up more.
"""

from django.db import connection

from config.wsgi import application as django_application

HEADER = "X-Bench-Queries"


def application(environ, start_response):
    if "HTTP_X_BENCH_QUERIES" not in environ:
        return django_application(environ, start_response)
    count = 0

    def counted(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    def start(status, headers, exc_info=None):  # Django answers once the view and its template are done
        return start_response(status, [*headers, (HEADER, str(count))], exc_info)

    with connection.execute_wrapper(counted):
        return django_application(environ, start)
