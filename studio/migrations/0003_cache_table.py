"""The table of Django's database cache, the default shared cache (see CACHE_TABLE in
studio.settings): created here so a fresh database has it after ``migrate``, whatever
CACHES says at the time."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

CACHE_TABLE = "studio_cache"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("studio", "0002_entra_identity"),
    ]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
