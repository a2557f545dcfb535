"""Form widgets rendered fast: Django's own Jinja2 widget templates (several times faster per widget than
the Django template engine), and the Django engine for templates only it has (the admin's widgets)."""

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FastFormRenderer(Jinja2):
    fallback = DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.fallback.get_template(template_name)
