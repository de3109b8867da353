"""Hand-written SQL for the hot paths: API authentication and submitting runs.

On a submit the ORM spends more CPU compiling each query than the database spends running
it (about 0.6 ms for a three-table ``select_related``, against 0.05 ms for the same SQL
written out). The few statements on that path are therefore written by hand, but nothing
about the models is repeated here: column lists come from each model's ``_meta``, values
are prepared by each field's own ``get_db_prep_save`` and read back through the same
converters the ORM applies, so the objects returned are the model instances a queryset
would have built. The SQL is plain enough for both PostgreSQL and SQLite (3.35 or newer,
for ``RETURNING``). Model signals are not sent; none of these models has receivers.
"""

from __future__ import annotations

from functools import cache, cached_property

from django.db import connection, migrations
from django.db.models import Model

# The largest id a row can have (bigint); larger ones cannot be compared by the databases.
MAX_ID = 2**63 - 1
# Values one statement may carry: SQLite takes at most 32,766 parameters, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


class Table:
    """How one model is read from a row and written as one: all its columns, or the primary
    key and ``only`` (the other fields are then deferred, as with ``QuerySet.only``)."""

    def __init__(self, model: type[Model], only: tuple[str, ...] = ()):
        self.model = model
        self.name = connection.ops.quote_name(model._meta.db_table)
        self.fields = [
            field
            for field in model._meta.concrete_fields
            if not only or field.primary_key or field.name in only or field.attname in only
        ]
        self.attnames = [field.attname for field in self.fields]
        self.width = len(self.fields)
        self._columns: dict[str, str] = {}
        self._pk_index = next(i for i, field in enumerate(self.fields) if field.primary_key)
        # What the ORM's compiler applies to each column it reads: the backend's converters
        # (e.g. SQLite's text to datetime), then the field's own (e.g. JSON text to a dict).
        self._converters = []
        for field in self.fields:
            col = field.get_col(model._meta.db_table)
            converters = [
                *connection.ops.get_db_converters(col),
                *col.get_db_converters(connection),
            ]
            self._converters.append((col, converters))

    def columns(self, alias: str) -> str:
        """``alias."id", alias."name", …``: every column, in the order ``load`` reads them
        (built once per alias)."""
        listed = self._columns.get(alias)
        if listed is None:
            quote = connection.ops.quote_name
            listed = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
            self._columns[alias] = listed
        return listed

    def load(self, row, start: int = 0) -> Model:
        """The instance held by ``row[start:start + width]`` (see ``columns``)."""
        values = list(row[start : start + self.width])
        for index, (col, converters) in enumerate(self._converters):
            for convert in converters:
                values[index] = convert(values[index], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    @cached_property
    def _insert_parts(self) -> tuple[list, str, str]:
        """The fields an INSERT writes (all but the key), its ``INSERT INTO t (…)`` and one
        row's placeholders: built once, as inserts are on the submit path."""
        fields = [f for f in self.fields if not f.primary_key]
        quote = connection.ops.quote_name
        head = f"INSERT INTO {self.name} ({', '.join(quote(f.column) for f in fields)})"
        return fields, head, "(" + ", ".join(["%s"] * len(fields)) + ")"

    def insert(self, objs: list[Model], ignore_conflicts: bool = False) -> bool:
        """INSERT ``objs`` (new, unsaved) and set their primary keys: one statement, or one
        per ``MAX_PARAMETERS`` values for many rows (a run's thousands of steps).

        With ``ignore_conflicts`` a row that would break a unique constraint is left out
        (ON CONFLICT DO NOTHING); returns False when any row was left out.
        """
        fields, head, row = self._insert_parts
        per_statement = max(1, MAX_PARAMETERS // max(1, len(fields)))
        complete = True
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            sql = (
                f"{head} VALUES {', '.join([row] * len(chunk))} "
                f"{'ON CONFLICT DO NOTHING ' if ignore_conflicts else ''}"
                f"RETURNING {connection.ops.quote_name(self.model._meta.pk.column)}"
            )
            params = [
                field.get_db_prep_save(field.pre_save(obj, add=True), connection)
                for obj in chunk
                for field in fields
            ]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                keys = cursor.fetchall()
            if len(keys) != len(chunk):
                complete = False
                continue
            for obj, (key,) in zip(chunk, keys, strict=True):
                obj.pk = key
                obj._state.adding = False
                obj._state.db = connection.alias
        return complete


def load_joined(row, *tables: Table) -> list[Model | None]:
    """One instance per table from a row selecting ``columns`` of each ``tables`` in turn;
    None for a table a LEFT JOIN found no row in (its primary key is NULL)."""
    found, start = [], 0
    for each in tables:
        present = row[start + each._pk_index] is not None
        found.append(each.load(row, start) if present else None)
        start += each.width
    return found


@cache
def table(model: type[Model], *only: str) -> Table:
    """The :class:`Table` of ``model`` (or of its primary key and ``only``), built once per
    process."""
    return Table(model, only)


def fetch_one(sql: str, params: list) -> tuple | None:
    """The first row of ``sql``, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: list) -> list[tuple]:
    """Every row of ``sql``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _legacy_alter_table(on: bool):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(f"PRAGMA legacy_alter_table = {'ON' if on else 'OFF'}")

    return run


# Django adds a NOT NULL column on SQLite by copying the table and renaming the copy; SQLite
# then re-checks every trigger and fails on the endpoint-version trigger, which names the
# table being replaced. A migration that adds such a column to a table a trigger names wraps
# its operations in these two (they do nothing on other databases).
def sqlite_renames_skip_trigger_checks():
    """A migration operation: from here on SQLite renames do not re-check triggers."""
    return migrations.RunPython(_legacy_alter_table(True), _legacy_alter_table(False))


def sqlite_renames_check_triggers_again():
    """A migration operation: SQLite renames re-check triggers again (the default)."""
    return migrations.RunPython(_legacy_alter_table(False), _legacy_alter_table(True))
