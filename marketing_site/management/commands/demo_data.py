from django.core.management.base import BaseCommand

from marketing_site.demo import demo_data_create


class Command(BaseCommand):
    help = "Create a demo shop (lists, products, coupons, a draft campaign) and a staff login."

    def handle(self, *args, **options):
        login = demo_data_create()
        self.stdout.write("The demo shop is ready.")
        if login.password_reset:
            self.stdout.write(
                self.style.WARNING("The saved demo password was missing, so it was reset.")
            )
        self.stdout.write(f"Log in at {login.url} as {login.username} / {login.password}")
