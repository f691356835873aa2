"""Texts of the Auskunft / Datenexport wizard (Art. 15 and Art. 20 GDPR)."""

from __future__ import annotations

DE = {
    "page.gdpr_export": "Auskunft / Datenexport",
    "gdpr_export.intro": "Für eine Auskunfts- (Art. 15) oder Übertragbarkeitsanfrage (Art. 20) zusammenstellen, was die "
    "Module über die Person speichern, und als ZIP-Paket herausgeben. Jede Erstellung wird im Protokoll der Anfrage vermerkt.",
    "gdpr_export.step_subject": "Betroffene Person",
    "gdpr_export.step_data": "Gefundene Daten",
    "gdpr_export.step_preview": "Vorschau",
    "gdpr_export.step_build": "Erstellen",
    "gdpr_export.step_download": "Herunterladen",
    # Step 1
    "gdpr_export.request": "Anfrage",
    "gdpr_export.request_option": "Nr. {id} · {type} · {requester} · Frist {due}",
    "gdpr_export.no_requester": "ohne Namen",
    "gdpr_export.no_requests": "Es gibt keine offene Auskunfts- oder Übertragbarkeitsanfrage. Neue Anfragen werden unter "
    "„Betroffenenanfragen“ erfasst.",
    "gdpr_export.to_requests": "Zu den Betroffenenanfragen",
    "gdpr_export.not_applicable": "Anfrage Nr. {id} ist keine offene Auskunfts- oder Übertragbarkeitsanfrage. Bitte eine "
    "der offenen Anfragen auswählen.",
    "gdpr_export.requester": "Anfragende Person",
    "gdpr_export.received": "Eingegangen",
    "gdpr_export.due": "Frist",
    "gdpr_export.due_value": "{due} (noch {days} Tage)",
    "gdpr_export.due_overdue": "{due} (seit {days} Tagen überschritten)",
    "gdpr_export.status": "Status",
    "gdpr_export.identity_ok": "**Identität bestätigt:** {method} – geprüft von {checked_by} am {day}.",
    "gdpr_export.identity_missing": "**Identität noch nicht bestätigt** (Stand: {state}). Daten dürfen erst herausgegeben "
    "werden, wenn feststeht, dass die anfragende Person die betroffene Person ist (Art. 12 Abs. 6 DSGVO). Öffnen Sie die "
    "Anfrage Nr. {id}, halten Sie unter „Identität prüfen“ fest, wie die Identität bestätigt wurde, und kehren Sie dann "
    "hierher zurück.",
    "gdpr_export.identity_unchecked": "nicht geprüft",
    "gdpr_export.subject_ok": "**Datensätze der Person bestätigt:** {contacts} Kontakt(e), {accounts} Firma/Firmen "
    "(Einzelunternehmen).",
    "gdpr_export.subject_missing": "**Noch keine Datensätze der Person bestätigt.** Öffnen Sie die Anfrage Nr. {id}, suchen "
    "Sie unter „Daten finden“ die Datensätze der Person und bestätigen Sie sie; danach geht es hier weiter.",
    "gdpr_export.open_request": "Anfrage Nr. {id} öffnen",
    # Step 2
    "gdpr_export.datasets": "Datenbestände mit Daten",
    "gdpr_export.entries": "Einträge gesamt",
    "gdpr_export.records": "Bestätigte Datensätze",
    "gdpr_export.nothing_found": "Zu den bestätigten Datensätzen speichert kein Modul Daten. Das Paket enthält dann eine "
    "Negativauskunft.",
    "gdpr_export.col.dataset": "Datenbestand",
    "gdpr_export.col.module": "Modul",
    "gdpr_export.col.count": "Einträge",
    "gdpr_export.col.legal_basis": "Rechtsgrundlage",
    "gdpr_export.col.retention": "Speicherdauer",
    "gdpr_export.samples": "Einträge je Datenbestand",
    "gdpr_export.purpose": "Zweck: {purpose}",
    "gdpr_export.basis_and_retention": "Rechtsgrundlage: {basis} · Speicherdauer: {retention}",
    "gdpr_export.sample_shown": "Angezeigt: die ersten {shown} von {count} Einträgen; das Paket enthält alle.",
    "gdpr_export.not_exported": "Nur die Anzahl wird genannt: der Inhalt sind technische Schlüssel, die nicht "
    "herausgegeben werden.",
    # Step 3
    "gdpr_export.portability": "Nur von der Person bereitgestellte Daten (Art. 20, Datenübertragbarkeit)",
    "gdpr_export.portability_help": "Die Datei data.json enthält dann nur die Angaben, die die Person selbst gemacht hat "
    "(z. B. Name, Anschrift, E-Mail), in einem gängigen, maschinenlesbaren Format zur Übergabe an einen anderen "
    "Verantwortlichen. Ohne Häkchen enthält sie alle gefundenen Daten (Auskunft nach Art. 15).",
    "gdpr_export.contents": "Inhalt des ZIP-Pakets",
    "gdpr_export.col.file": "Datei",
    "gdpr_export.col.content": "Inhalt",
    "gdpr_export.file_json_all": "Alle gefundenen Daten, maschinenlesbar (JSON)",
    "gdpr_export.file_json_provided": "Nur die von der Person bereitgestellten Daten, maschinenlesbar (JSON, Art. 20)",
    "gdpr_export.file_csv": "{label} als Tabelle (CSV)",
    "gdpr_export.file_pdf": "Auskunftsschreiben nach Art. 15 (Zwecke, Empfänger, Speicherdauer, Herkunft, Rechte)",
    "gdpr_export.file_schema": "Genaue Beschreibung des Aufbaus von data.json (JSON Schema)",
    "gdpr_export.file_readme": "Erläuterung der Dateien für die Person",
    "gdpr_export.provided_from": "Bereitgestellte Daten stammen aus: {datasets}.",
    # Step 4
    "gdpr_export.build_intro": "Das Paket wird aus dem aktuellen Datenstand erstellt. Die Erstellung wird mit der "
    "SHA-256-Prüfsumme des Pakets im Protokoll der Anfrage Nr. {id} vermerkt.",
    "gdpr_export.build": "Paket erstellen",
    "gdpr_export.building": "Paket wird erstellt …",
    "gdpr_export.built": "Paket {file} erstellt.",
    "gdpr_export.size": "Größe",
    "gdpr_export.size_kb": "{size} KB",
    "gdpr_export.sha": "SHA-256-Prüfsumme (zum Abgleich mit dem Protokoll)",
    "gdpr_export.counts": "Einträge im Paket",
    "gdpr_export.to_download": "Zum Herunterladen",
    # Step 5
    "gdpr_export.download": "ZIP-Paket herunterladen",
    "gdpr_export.logged": "Die Erstellung wurde im Protokoll der Anfrage Nr. {id} vermerkt ({when}, {actor}).",
    "gdpr_export.next_steps": "Übermitteln Sie das Paket der Person auf sicherem Weg und schließen Sie die Anfrage danach "
    "ab (Anfrage Nr. {id} → „Anfrage abschließen“).",
    "gdpr_export.again": "Weitere Auskunft erstellen",
}

EN = {
    "page.gdpr_export": "Access / data export",
    "gdpr_export.intro": "For an access (Art. 15) or portability request (Art. 20): collect what the modules store about "
    "the person and hand it out as a ZIP package. Every generation is recorded in the request log.",
    "gdpr_export.step_subject": "Data subject",
    "gdpr_export.step_data": "Data found",
    "gdpr_export.step_preview": "Preview",
    "gdpr_export.step_build": "Generate",
    "gdpr_export.step_download": "Download",
    # Step 1
    "gdpr_export.request": "Request",
    "gdpr_export.request_option": "No. {id} · {type} · {requester} · due {due}",
    "gdpr_export.no_requester": "no name",
    "gdpr_export.no_requests": "There is no open access or portability request. New requests are recorded under "
    "“Data-subject requests”.",
    "gdpr_export.to_requests": "To the data-subject requests",
    "gdpr_export.not_applicable": "Request no. {id} is not an open access or portability request. Please choose one of "
    "the open requests.",
    "gdpr_export.requester": "Requester",
    "gdpr_export.received": "Received",
    "gdpr_export.due": "Due",
    "gdpr_export.due_value": "{due} ({days} days left)",
    "gdpr_export.due_overdue": "{due} (overdue by {days} days)",
    "gdpr_export.status": "Status",
    "gdpr_export.identity_ok": "**Identity confirmed:** {method} – checked by {checked_by} on {day}.",
    "gdpr_export.identity_missing": "**Identity not confirmed yet** (state: {state}). Data may only be handed out once it "
    "is certain that the requester is the data subject (Art. 12(6) GDPR). Open request no. {id}, record under “Check "
    "identity” how the identity was confirmed, then come back here.",
    "gdpr_export.identity_unchecked": "not checked",
    "gdpr_export.subject_ok": "**Records of the person confirmed:** {contacts} contact(s), {accounts} company/companies "
    "(sole traders).",
    "gdpr_export.subject_missing": "**No records of the person confirmed yet.** Open request no. {id}, search for the "
    "person's records under “Find data” and confirm them; then continue here.",
    "gdpr_export.open_request": "Open request no. {id}",
    # Step 2
    "gdpr_export.datasets": "Data sets with data",
    "gdpr_export.entries": "Entries in total",
    "gdpr_export.records": "Confirmed records",
    "gdpr_export.nothing_found": "No module stores data about the confirmed records. The package then states that no "
    "data is held.",
    "gdpr_export.col.dataset": "Data set",
    "gdpr_export.col.module": "Module",
    "gdpr_export.col.count": "Entries",
    "gdpr_export.col.legal_basis": "Legal basis",
    "gdpr_export.col.retention": "Retention",
    "gdpr_export.samples": "Entries per data set",
    "gdpr_export.purpose": "Purpose: {purpose}",
    "gdpr_export.basis_and_retention": "Legal basis: {basis} · Retention: {retention}",
    "gdpr_export.sample_shown": "Shown: the first {shown} of {count} entries; the package holds all of them.",
    "gdpr_export.not_exported": "Only the number is stated: the content is technical keys, which are not handed out.",
    # Step 3
    "gdpr_export.portability": "Only data provided by the person (Art. 20, data portability)",
    "gdpr_export.portability_help": "data.json then holds only what the person provided themselves (e.g. name, address, "
    "e-mail) in a common machine-readable format for another controller. Unticked, it holds all data found (access, "
    "Art. 15).",
    "gdpr_export.contents": "Contents of the ZIP package",
    "gdpr_export.col.file": "File",
    "gdpr_export.col.content": "Content",
    "gdpr_export.file_json_all": "All data found, machine-readable (JSON)",
    "gdpr_export.file_json_provided": "Only the data provided by the person, machine-readable (JSON, Art. 20)",
    "gdpr_export.file_csv": "{label} as a table (CSV)",
    "gdpr_export.file_pdf": "Access letter under Art. 15 (purposes, recipients, retention, source, rights)",
    "gdpr_export.file_schema": "Exact description of the structure of data.json (JSON Schema)",
    "gdpr_export.file_readme": "Explanation of the files for the person",
    "gdpr_export.provided_from": "Provided data comes from: {datasets}.",
    # Step 4
    "gdpr_export.build_intro": "The package is generated from the current data. The generation is recorded with the "
    "package's SHA-256 checksum in the log of request no. {id}.",
    "gdpr_export.build": "Generate package",
    "gdpr_export.building": "Generating the package …",
    "gdpr_export.built": "Package {file} generated.",
    "gdpr_export.size": "Size",
    "gdpr_export.size_kb": "{size} KB",
    "gdpr_export.sha": "SHA-256 checksum (to compare with the log)",
    "gdpr_export.counts": "Entries in the package",
    "gdpr_export.to_download": "To the download",
    # Step 5
    "gdpr_export.download": "Download ZIP package",
    "gdpr_export.logged": "The generation was recorded in the log of request no. {id} ({when}, {actor}).",
    "gdpr_export.next_steps": "Send the package to the person by a secure route, then close the request (request no. {id} "
    "→ “Complete request”).",
    "gdpr_export.again": "Prepare another export",
}
