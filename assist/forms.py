"""The portal's form for a CSR's personal phrase."""

from django import forms

from assist.models import Phrase
from assist.placeholders import PLACEHOLDERS


class PersonalPhraseForm(forms.Form):
    title = forms.CharField(max_length=120)
    shortcut = forms.SlugField(
        max_length=40,
        required=False,
        help_text="Optional: typed as /shortcut in the message box (letters, digits, - and _).",
    )
    text = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Placeholders: " + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS) + ".",
    )

    @classmethod
    def for_phrase(cls, phrase: Phrase) -> "PersonalPhraseForm":
        return cls(
            initial={"title": phrase.title, "shortcut": phrase.shortcut, "text": phrase.text}
        )
