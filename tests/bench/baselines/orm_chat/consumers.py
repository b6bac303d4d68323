"""The Channels tutorial's chat consumer, with the message saved by the ORM
(`Model.objects.create` in `database_sync_to_async`) before it is group_sent."""

import json

from channels.db import database_sync_to_async

from ..channels_chat.consumers import ChatConsumer as TutorialChatConsumer
from .models import Message


class ChatConsumer(TutorialChatConsumer):
    async def receive(self, text_data):
        await self.message_save(json.loads(text_data)["message"])
        await super().receive(text_data)

    @database_sync_to_async
    def message_save(self, message: str) -> None:
        Message.objects.create(room=self.room_group_name, text=message)
