"""The three role groups (CSR, CSR manager, Administrator) and their permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    # Permissions do not exist yet on a fresh database (Django creates them after the
    # last migration): roles_sync() creates them first, with this migration's apps.
    from portal.services import roles_sync

    roles_sync(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chat", "0002_interaction_routing_fields"),
        ("routing", "0003_away_reasons"),
    ]

    # Reversing keeps the groups: deleting them would silently take users' roles away.
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
