"""Texts of the ListReport's saved views, its "Weitere Filter" and bulk actions with input."""

from __future__ import annotations

DE: dict[str, str] = {
    "list.more_filters": "Weitere Filter",
    "list.bulk_failed": "{n} Zeile(n) wurden nicht geändert:",
    "views.view": "Gespeicherte Ansicht",
    "views.view_help": "Eine gespeicherte Ansicht stellt Suche, Filter, Sortierung und Spalten wieder her.",
    "views.none": "– keine (alle Einträge) –",
    "views.save": "Ansicht speichern",
    "views.name": "Name der Ansicht",
    "views.make_default": "Beim Öffnen der Liste verwenden (Standard)",
    "views.overwrite": "Bestehende Ansicht „{name}“ überschreiben",
    "views.save_button": "Speichern",
    "views.confirm_overwrite": "Eine Ansicht „{name}“ gibt es schon. Zum Überschreiben bitte bestätigen.",
    "views.saved": "Ansicht „{name}“ gespeichert.",
    "views.set_default": "Als Standard",
    "views.unset_default": "Kein Standard",
    "views.default_set": "„{name}“ ist jetzt Ihre Standardansicht.",
    "views.default_cleared": "„{name}“ ist nicht mehr Ihre Standardansicht.",
    "views.delete_title": "Ansicht löschen?",
    "views.delete_text": "Die gespeicherte Ansicht **{name}** wird gelöscht. Die Daten der Liste bleiben unverändert.",
    "views.deleted": "Ansicht „{name}“ gelöscht.",
}

EN: dict[str, str] = {
    "list.more_filters": "More filters",
    "list.bulk_failed": "{n} row(s) were not changed:",
    "views.view": "Saved view",
    "views.view_help": "A saved view restores search, filters, sorting and columns.",
    "views.none": "– none (all entries) –",
    "views.save": "Save view",
    "views.name": "Name of the view",
    "views.make_default": "Use when the list opens (default)",
    "views.overwrite": "Overwrite the existing view “{name}”",
    "views.save_button": "Save",
    "views.confirm_overwrite": "A view “{name}” exists already. Please confirm to overwrite it.",
    "views.saved": "View “{name}” saved.",
    "views.set_default": "Make default",
    "views.unset_default": "No default",
    "views.default_set": "“{name}” is now your default view.",
    "views.default_cleared": "“{name}” is no longer your default view.",
    "views.delete_title": "Delete view?",
    "views.delete_text": "The saved view **{name}** will be deleted. The list's data stay unchanged.",
    "views.deleted": "View “{name}” deleted.",
}
