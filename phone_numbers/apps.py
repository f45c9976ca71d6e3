from django.apps import AppConfig


class PhoneNumbersConfig(AppConfig):
    # Not "numbers": a top-level package of that name shadows the stdlib module and breaks `import decimal`.
    name = "phone_numbers"
    label = "phone_numbers"
    verbose_name = "Phone numbers"
