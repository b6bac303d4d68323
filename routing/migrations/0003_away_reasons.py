"""The Away reasons every contact center starts with; administrators add their own."""

from django.db import migrations

REASONS = [
    # code, label, system (set by the portal, not picked by CSRs)
    ("break", "Break", False),
    ("lunch", "Lunch", False),
    ("meeting", "Meeting", False),
    ("training", "Training", False),
    ("after-chat-work", "After-chat work", False),
    ("missed-offers", "Missed offers", True),
    ("disconnected", "Disconnected", True),
]


def create_reasons(apps, schema_editor):
    AwayReason = apps.get_model("routing", "AwayReason")
    for code, label, system in REASONS:
        AwayReason.objects.get_or_create(code=code, defaults={"label": label, "system": system})


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_interaction_routing_fields")]

    operations = [migrations.RunPython(create_reasons, migrations.RunPython.noop)]
