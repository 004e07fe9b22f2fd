from django.http import HttpResponse

from marketing_site.roles import VIEWER, role_required


@role_required(VIEWER)
def dashboard(request):
    return HttpResponse("Dashboard")
