import django.contrib.postgres.search
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def gin_index_create(apps, schema_editor):
    """PostgreSQL: a GIN index on the articles' full-text documents (other databases
    search with the BM25 index instead)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX assist_article_search_gin ON assist_article USING gin (search_vector)"
        )


def gin_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS assist_article_search_gin")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("chat", "0007_message_events_and_internal"),
        ("routing", "0005_queue_waits_cooldown_and_long_waits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Article",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200)),
                ("slug", models.SlugField(max_length=120, unique=True)),
                ("summary", models.CharField(blank=True, help_text="Shown on the card the customer receives.", max_length=300)),
                ("body", models.TextField(help_text="Markdown. Raw HTML is removed when it is shown.")),
                ("category", models.CharField(blank=True, max_length=80)),
                ("tags", models.CharField(blank=True, help_text="Comma-separated.", max_length=300)),
                ("public_url", models.URLField(blank=True, help_text="The article on the host website (optional).", max_length=500)),
                ("intents", models.CharField(blank=True, help_text="Comma-separated intents it answers (e.g. lost_card).", max_length=300)),
                ("status", models.CharField(choices=[("draft", "Draft"), ("published", "Published")], default="draft", max_length=10)),
                ("search_vector", django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("queues", models.ManyToManyField(blank=True, help_text="The queues it applies to; none means every queue.", related_name="+", to="routing.queue")),
            ],
            options={"ordering": ["title"]},
        ),
        migrations.CreateModel(
            name="Phrase",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=120)),
                ("text", models.TextField(max_length=5000)),
                ("shortcut", models.SlugField(blank=True, help_text="Typed as /shortcut in the chat panel's message box (letters, digits, - and _).", max_length=40)),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("owner", models.ForeignKey(blank=True, help_text="Empty for a shared phrase; the CSR for a personal phrase.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="assist_phrases", to=settings.AUTH_USER_MODEL)),
                ("queues", models.ManyToManyField(blank=True, help_text="The queues it applies to; none means every queue.", related_name="+", to="routing.queue")),
            ],
            options={
                "ordering": ["title"],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("owner__isnull", True), models.Q(("shortcut", ""), _negated=True)), fields=("shortcut",), name="assist_phrase_unique_shared_shortcut"),
                    models.UniqueConstraint(condition=models.Q(("owner__isnull", False), models.Q(("shortcut", ""), _negated=True)), fields=("owner", "shortcut"), name="assist_phrase_unique_personal_shortcut"),
                ],
            },
        ),
        migrations.CreateModel(
            name="PhraseUse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("count", models.PositiveIntegerField(default=0)),
                ("last_used_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("phrase", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="uses", to="assist.phrase")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("phrase", "user"), name="assist_phrase_use_unique")],
            },
        ),
        migrations.CreateModel(
            name="PushDomain",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("domain", models.CharField(help_text="A host name, e.g. northwind.example", max_length=253)),
                ("channel", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="push_domains", to="chat.channel")),
            ],
            options={
                "verbose_name": "page push domain",
                "ordering": ["channel", "domain"],
                "constraints": [models.UniqueConstraint(fields=("channel", "domain"), name="assist_push_domain_unique")],
            },
        ),
        migrations.CreateModel(
            name="SuggestionPick",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("intent", models.CharField(blank=True, max_length=100)),
                ("kind", models.CharField(choices=[("phrase", "Phrase"), ("article", "Article")], max_length=10)),
                ("item_id", models.PositiveIntegerField()),
                ("count", models.PositiveIntegerField(default=0)),
                ("last_picked_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("intent", "kind", "item_id"), name="assist_pick_unique")],
            },
        ),
        migrations.RunPython(gin_index_create, gin_index_drop),
    ]
