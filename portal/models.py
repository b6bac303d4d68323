"""The portal's own records: a CSR's preferences for how the portal gets their attention."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models


class CSRPreferences(models.Model):
    """How My Work notifies one CSR. No row means the defaults (sound on, volume 80)."""

    DEFAULT_SOUND_ENABLED = True
    DEFAULT_SOUND_VOLUME = 80

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="csr_preferences"
    )
    sound_enabled = models.BooleanField(
        default=DEFAULT_SOUND_ENABLED,
        help_text="Play a sound for a new offer, a transfer, a customer message in a chat "
        "not in front and a manager's whisper.",
    )
    sound_volume = models.PositiveSmallIntegerField(
        default=DEFAULT_SOUND_VOLUME,
        validators=[MaxValueValidator(100)],
        help_text="0–100 % of the notification sound's volume.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CSR preferences"
        verbose_name_plural = "CSR preferences"

    def __str__(self) -> str:
        return f"Preferences of user {self.user_id}"
