"""The Django admin behind the same second factor as the staff pages."""

from django.conf import settings
from django.contrib.admin import AdminSite
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice


class AdminLoginForm(OTPAdminAuthenticationForm):
    """Password, plus the app's code for an account that has an authenticator app."""

    def clean(self):
        self.cleaned_data = super(OTPAdminAuthenticationForm, self).clean()
        user = self.get_user()
        if user is not None and TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            self.clean_otp(user)
        return self.cleaned_data


class StaffAdminSite(AdminSite):
    login_form = AdminLoginForm
    login_template = "otp/admin111/login.html"

    def has_permission(self, request):
        user = request.user
        if not super().has_permission(request):
            return False
        if user.is_verified():
            return True
        has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        return not (has_device or settings.REQUIRE_TWO_FACTOR)
