"""The database refuses an endpoint version whose published pipeline is in another workspace.

Django has no composite foreign keys, so a trigger on each database checks that the
endpoint and the published pipeline share a workspace, on insert and on update.
"""

from django.db import migrations

MESSAGE = "endpoint version and published pipeline must be in the same workspace"

SQLITE_CHECK = """
SELECT RAISE(ABORT, '{message}')
WHERE (SELECT workspace_id FROM endpoints_pipelineendpoint WHERE id = NEW.endpoint_id)
   IS NOT (SELECT workspace_id FROM pipelines_publishedpipeline WHERE id = NEW.published_pipeline_id);
""".format(message=MESSAGE)

SQLITE_FORWARD = [
    f"CREATE TRIGGER endpoint_version_same_workspace_{event.lower()} BEFORE {event} "
    f"ON endpoints_pipelineendpointversion FOR EACH ROW BEGIN {SQLITE_CHECK} END;"
    for event in ("INSERT", "UPDATE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS endpoint_version_same_workspace_{event.lower()};"
    for event in ("INSERT", "UPDATE")
]

POSTGRES_FORWARD = [
    f"""
CREATE OR REPLACE FUNCTION endpoint_version_same_workspace() RETURNS trigger AS $$
BEGIN
  IF (SELECT workspace_id FROM endpoints_pipelineendpoint WHERE id = NEW.endpoint_id)
     IS DISTINCT FROM
     (SELECT workspace_id FROM pipelines_publishedpipeline WHERE id = NEW.published_pipeline_id)
  THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE TRIGGER endpoint_version_same_workspace
BEFORE INSERT OR UPDATE ON endpoints_pipelineendpointversion
FOR EACH ROW EXECUTE FUNCTION endpoint_version_same_workspace();
""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS endpoint_version_same_workspace ON endpoints_pipelineendpointversion;",
    "DROP FUNCTION IF EXISTS endpoint_version_same_workspace();",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0002_initial")]

    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
