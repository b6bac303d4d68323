"""The shape of a chat file in the bot API (docs/attachments.md)."""

from rest_framework import serializers


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Pass it in `attachment_ids` to send the file.")
    name = serializers.CharField(help_text="The file name as sent (for showing only).")
    content_type = serializers.CharField(help_text="Decided from the content, not the name.")
    size = serializers.IntegerField(help_text="Bytes, as stored (images are re-encoded).")
    image = serializers.BooleanField(help_text="An image, with a thumbnail.")
    width = serializers.IntegerField(allow_null=True, help_text="Images: pixels.")
    height = serializers.IntegerField(allow_null=True, help_text="Images: pixels.")
    url = serializers.CharField(
        help_text="Signed download URL for this bot client, relative to the portal; works "
        "without the token until `expires_at`."
    )
    preview_url = serializers.CharField(
        allow_null=True, help_text="Images and PDF: a sandboxed inline view."
    )
    thumbnail_url = serializers.CharField(allow_null=True, help_text="Images: the thumbnail.")
    expires_at = serializers.IntegerField(help_text="When the URLs stop working (Unix time).")

    class Meta:
        ref_name = "Attachment"
