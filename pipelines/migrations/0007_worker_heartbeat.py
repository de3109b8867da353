"""Each worker's own heartbeat (``WorkerHeartbeat``), written whether or not it runs steps, so
/metrics tells a live idle worker from a dead one. A new, empty table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0006_run_metric_value"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=255, unique=True)),
                ("hostname", models.CharField(max_length=255)),
                ("queues", models.JSONField(blank=True, default=list)),
                ("pid", models.PositiveIntegerField()),
                ("interval", models.FloatField(help_text="Seconds between its heartbeats.")),
                ("started_at", models.DateTimeField()),
                ("seen_at", models.DateTimeField(db_index=True)),
                ("stopped_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
    ]
