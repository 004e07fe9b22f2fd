"""The import pages: upload, map the columns, follow the import, download
the rejected rows. The rules are in contacts.importing."""

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts import importing
from contacts.import_forms import ImportMappingForm, ImportUploadForm
from contacts.models import ImportJob

_PERMISSION = "contacts.import_contacts"
POLL_SECONDS = 2
SAMPLE_CSV = (
    "email,first_name,last_name,locale,time_zone,status\r\n"
    "ann.lee@example.com,Ann,Lee,en,Europe/London,subscribed\r\n"
    "tomas@example.org,Tomás,García,es,Europe/Madrid,subscribed\r\n"
    "kenji@example.jp,Kenji,Sato,ja,Asia/Tokyo,unconfirmed\r\n"
)


def _get_job_for_user(request, pk: int) -> ImportJob:
    # Imports are the team's: anyone who may import may follow any import.
    return get_object_or_404(ImportJob, pk=pk)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def import_start(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.import_job_create(upload=form.cleaned_data["file"], actor=request.user)
        except importing.FileProblem as problem:
            form.add_error("file", str(problem))
        else:
            return redirect("contacts:import_mapping", job.pk)
    recent = ImportJob.objects.exclude(status=ImportJob.Status.UPLOADED)[:10]
    return render(request, "contacts/import_start.html", {"form": form, "recent": recent})


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def import_mapping(request, pk: int):
    job = _get_job_for_user(request, pk)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("contacts:import_detail", job.pk)
    try:
        preview = importing.file_preview(job.file_path)
    except (importing.FileProblem, OSError) as problem:
        importing.import_job_discard(job=job)
        messages.error(request, f"{job.file_name} cannot be imported: {problem}")
        return redirect("contacts:import")
    form = ImportMappingForm(request.POST or None, headers=preview.headers, mapping=preview.mapping)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        importing.import_job_start(
            job=job,
            mapping=data["mapping"],
            group_ids=[group.pk for group in data["groups"]],
            new_group_name=data["new_group"],
            update_existing=data["existing"] == "update",
            consent_confirmed=data["consent"],
        )
        return redirect("contacts:import_detail", job.pk)
    columns = list(zip(form.column_fields(), zip(*preview.rows, strict=True), strict=True))
    context = {"job": job, "preview": preview, "form": form, "columns": columns}
    return render(request, "contacts/import_mapping.html", context)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
@require_POST
def import_cancel(request, pk: int):
    job = _get_job_for_user(request, pk)
    if job.status == ImportJob.Status.UPLOADED:
        importing.import_job_discard(job=job)
        messages.info(request, "The upload was discarded.")
    return redirect("contacts:import")


@login_required
@permission_required(_PERMISSION, raise_exception=True)
@require_POST
def import_run_again(request, pk: int):
    job = _get_job_for_user(request, pk)
    if importing.import_job_run_again(job=job):
        messages.success(request, f"{job.file_name} is imported again.")
    else:
        messages.error(request, "This import cannot be run again; upload the file once more.")
    return redirect("contacts:import_detail", job.pk)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def import_detail(request, pk: int):
    importing.import_jobs_stalled_mark()  # the page tells at once, not at the next beat
    job = _get_job_for_user(request, pk)
    if job.status == ImportJob.Status.UPLOADED:
        return redirect("contacts:import_mapping", job.pk)
    context = {"job": job, "poll_seconds": POLL_SECONDS}
    if request.headers.get("HX-Request"):
        if not job.is_active and request.GET.get("active"):
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"  # the result page differs: load it whole
            return response
        return render(request, "contacts/_import_progress.html", context)
    return render(request, "contacts/import_detail.html", context)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def import_rejected(request, pk: int):
    job = _get_job_for_user(request, pk)
    path = Path(job.rejected_path) if job.rejected_path else None
    if not path or not path.is_file():
        raise Http404("No rejected rows.")
    name = f"{Path(job.file_name).stem}-rejected.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def import_sample(request):
    response = HttpResponse(SAMPLE_CSV.encode("utf-8-sig"), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="contacts-sample.csv"'
    return response
