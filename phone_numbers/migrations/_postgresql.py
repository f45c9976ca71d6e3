"""For migrations that only PostgreSQL needs (the SQLite demo does without). The loader skips modules
whose name starts with an underscore, so this is not a migration itself."""


def on_postgresql(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run
