import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("chat", "0007_message_events_and_internal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CobrowseSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(choices=[("requested", "Waiting for the customer"), ("active", "On"), ("declined", "Declined by the customer"), ("unanswered", "Not answered in time"), ("ended", "Ended")], default="requested", max_length=12)),
                ("started_via", models.CharField(choices=[("actions", "Actions → Start co-browse"), ("add_task", "Add task → General → Co-Browsing Session")], max_length=10)),
                ("requested_at", models.DateTimeField()),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("ended_by", models.CharField(blank=True, choices=[("customer", "Customer"), ("csr", "CSR"), ("system", "System")], max_length=10)),
                ("end_reason", models.CharField(blank=True, choices=[("customer", "The customer ended it"), ("csr", "The CSR ended it"), ("declined", "The customer declined"), ("no_answer", "The customer did not answer"), ("chat_closed", "The chat ended"), ("transferred", "The chat was transferred"), ("requeued", "The chat went back to its queue"), ("panel_closed", "The CSR closed the chat panel"), ("idle", "The customer's page was idle"), ("too_large", "The page was too large to share")], max_length=15)),
                ("csr", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="cobrowse_sessions", to=settings.AUTH_USER_MODEL)),
                ("interaction", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="cobrowse_sessions", to="chat.interaction")),
            ],
            options={
                "ordering": ["-requested_at", "-pk"],
                "indexes": [models.Index(fields=["csr", "requested_at"], name="cobrowse_co_csr_id_8a735c_idx")],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("status__in", ["requested", "active"])), fields=("interaction",), name="cobrowse_one_open_per_interaction"),
                    models.UniqueConstraint(condition=models.Q(("status__in", ["requested", "active"])), fields=("csr",), name="cobrowse_one_open_per_csr"),
                ],
            },
        ),
    ]
