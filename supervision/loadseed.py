"""Load data for the manager tools' benchmark and for trying them at scale: CSRs,
queues and active chats made in bulk (`manage.py seed_load`). Never on a real portal."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from chat.models import Channel, ChannelKind, Customer, Interaction, InteractionStatus
from config.users import Role
from routing.models import CSRProfile, CSRStatus, Queue, QueueMembership

PREFIX = "load-"
QUEUES_PER_CSR = 3


@dataclass(frozen=True)
class LoadSeed:
    csrs: int
    queues: int
    active: int
    waiting: int


@transaction.atomic
def load_seed(
    *, csrs: int = 500, queues: int = 50, active: int = 2000, waiting: int = 0, seed: int = 1
) -> LoadSeed:
    """Replace the previous load data with `csrs` Available CSRs (capacity 5, each in
    QUEUES_PER_CSR queues), `queues` queues, `active` active chats spread over the CSRs
    and `waiting` queued ones."""
    load_clear()
    rng = random.Random(seed)  # noqa: S311 - load data, not secrets
    now = timezone.now()
    group, _ = Group.objects.get_or_create(name=Role.CSR.value)
    channel, _ = Channel.objects.get_or_create(
        slug=f"{PREFIX}web", defaults={"name": "Load web", "kind": ChannelKind.WEB_MESSAGING}
    )
    made_queues = Queue.objects.bulk_create(
        [
            Queue(name=f"Load queue {n:02d}", slug=f"{PREFIX}{n:02d}", service_level_seconds=60)
            for n in range(1, queues + 1)
        ]
    )
    users = User.objects.bulk_create(
        [
            User(username=f"{PREFIX}csr{n:04d}", first_name="Load", last_name=f"CSR {n:04d}")
            for n in range(1, csrs + 1)
        ]
    )
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=user.pk, group_id=group.pk) for user in users]
    )
    CSRProfile.objects.bulk_create(
        [
            CSRProfile(user=user, status=CSRStatus.AVAILABLE, capacity=5, last_heartbeat_at=now)
            for user in users
        ]
    )
    homes: dict[int, list[Queue]] = {}
    memberships = []
    for index, user in enumerate(users):
        mine = [made_queues[(index + k) % len(made_queues)] for k in range(QUEUES_PER_CSR)]
        homes[user.pk] = mine
        memberships += [
            QueueMembership(user=user, queue=q, joined=True, joined_at=now) for q in mine
        ]
    QueueMembership.objects.bulk_create(memberships)
    customers = Customer.objects.bulk_create(
        [
            Customer(external_id=f"{PREFIX}cust{n}", name=f"Load customer {n}")
            for n in range(active + waiting)
        ]
    )
    chats = []
    for n in range(active):
        user = users[n % len(users)]
        queue = rng.choice(homes[user.pk])
        started = now - timedelta(seconds=rng.randint(60, 1800))
        chats.append(
            Interaction(
                status=InteractionStatus.ACTIVE,
                customer=customers[n],
                customer_name=customers[n].name,
                channel=channel,
                queue=queue,
                assigned_csr=user,
                created_at=started,
                queued_at=started,
                offered_at=started + timedelta(seconds=5),
                accepted_at=started + timedelta(seconds=rng.randint(5, 60)),
            )
        )
    for n in range(active, active + waiting):
        started = now - timedelta(seconds=rng.randint(1, 120))
        chats.append(
            Interaction(
                status=InteractionStatus.QUEUED,
                customer=customers[n],
                customer_name=customers[n].name,
                channel=channel,
                queue=rng.choice(made_queues),
                created_at=started,
                queued_at=started,
            )
        )
    Interaction.objects.bulk_create(chats, batch_size=1000)
    return LoadSeed(csrs=csrs, queues=queues, active=active, waiting=waiting)


@transaction.atomic
def load_clear() -> None:
    """Remove every row the load seed made (by its prefix)."""
    Interaction.objects.filter(channel__slug__startswith=PREFIX).delete()
    Customer.objects.filter(external_id__startswith=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    Queue.objects.filter(slug__startswith=PREFIX).delete()
    Channel.objects.filter(slug__startswith=PREFIX).delete()
