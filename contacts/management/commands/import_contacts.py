"""python manage.py import_contacts FILE [--group NAME] [--update]"""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.audit import Action, audit_record
from contacts.importing import FileProblem, ImportOptions, ImportResult, import_run
from contacts.models import Contact, Group


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV or XLSX file (any common encoding and delimiter; "
        "Mailchimp and listmonk exports too). Rejected rows are written next to the "
        "file as FILE.rejected.csv, each with its reason. The file's people must have "
        "agreed to receive your mail."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--group", action="append", default=[], help="Add every contact to this group "
            "(created when missing); may be given more than once."
        )  # fmt: skip
        parser.add_argument(
            "--update", action="store_true", help="Update existing contacts (default: skip them)."
        )
        parser.add_argument("--encoding", default="", help="Override the detected encoding.")

    def handle(self, *args, file: Path, group: list[str], update: bool, encoding: str, **kw):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        group_ids = [Group.objects.get_or_create(name=name.strip())[0].pk for name in group]
        rejected = file.with_name(file.name + ".rejected.csv")
        options = ImportOptions(
            group_ids=group_ids,
            update_existing=update,
            consent_source=f"import: {file.name}",
            encoding=encoding,
        )
        started = time.monotonic()
        try:
            result = import_run(
                file, options=options, rejected_path=rejected, on_progress=self._progress
            )
        except FileProblem as problem:
            self._progress_end()
            raise CommandError(f"{file.name} was not imported: {problem}") from None
        self._progress_end()
        audit_record(
            actor=None,
            action=Action.IMPORTED,
            target=Contact,
            details={"file": file.name, "rows": result.rows, "created": result.created},
        )
        self.stdout.write(self.style.SUCCESS(result.summary()))
        if result.rejected:
            self.stdout.write(f"Rejected rows, each with its reason: {rejected}")
        self.stdout.write(f"Took {time.monotonic() - started:.1f} s.")

    def _progress(self, fraction: float, result: ImportResult) -> None:
        width = 30
        done = int(fraction * width)
        bar = "#" * done + "-" * (width - done)
        sys.stderr.write(f"\r[{bar}] {fraction:4.0%}  {result.rows:,} rows")
        sys.stderr.flush()

    def _progress_end(self) -> None:
        sys.stderr.write("\n")
