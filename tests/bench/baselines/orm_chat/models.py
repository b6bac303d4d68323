"""The baseline's one model: a chat line, stored before it is relayed."""

from django.db import models


class Message(models.Model):
    room = models.CharField(max_length=100)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["room", "created_at"])]  # a room's history

    def __str__(self) -> str:
        return f"{self.room}: {self.text[:40]}"
