from django.core.management.base import BaseCommand

from phone_numbers.reconcile import reconcile_all


class Command(BaseCommand):
    help = "Settle open purchases and releases with the providers and report numbers that drifted."

    def handle(self, *args, **options):
        findings = reconcile_all()
        for f in findings:
            self.stdout.write(f"{f.kind:20} {f.e164:16} {f.detail}")
        self.stdout.write(self.style.SUCCESS(f"{len(findings)} finding(s)."))
