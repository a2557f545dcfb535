import functools

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.boundfield import BoundField
from django.forms.models import BaseInlineFormSet, inlineformset_factory

from accounts.models import Account
from core.widgets import fast_selects
from reps.models import Rep
from territories.models import (
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from territories.validation import DUPLICATE_FIELD_MESSAGE, scoped_live_root_problem, territory_parent_scope_problem


class BootstrapBoundField(BoundField):
    """Marks a field with errors when it renders (Django adds aria-invalid itself)."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if attrs.get("aria-invalid"):
            # These attrs replace the widget's own, so start from its class (form-control, form-select):
            # "is-invalid" alone left the field unstyled.
            widget = widget or self.field.widget
            css = attrs.get("class", widget.attrs.get("class", ""))
            attrs["class"] = f"{css} is-invalid".strip()
        return attrs


class BootstrapFormMixin:
    """Bootstrap classes on every widget, is-invalid / aria-invalid on fields with errors, fast selects.

    Nothing here validates: subclasses narrow querysets and set the instance after this __init__, and the
    form must be validated with those (errors are marked when a field renders, after all clean steps)."""

    bound_field_class = BootstrapBoundField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fast_selects_pending = True
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            elif isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-control"
            field.widget.attrs.setdefault("class", css)

    def __getitem__(self, name):
        # Swapped on first render, after subclasses have set their querysets.
        if getattr(self, "_fast_selects_pending", False):
            self._fast_selects_pending = False
            fast_selects(self)
        return super().__getitem__(name)


class UniqueInScopeMixin:
    """ModelForm skips a unique constraint when one of its fields is not on the form (the territory of a
    pin, the model of a territory), and the database would then refuse the row on save. Check all the
    constraints against the instance as it will be saved, and put a unique violation on `unique_field`."""

    unique_field = ""
    unique_message = ""

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        try:
            self.instance.validate_constraints()
        except ValidationError as error:
            errors = error.update_error_dict({})
            if errors.pop(NON_FIELD_ERRORS, None):
                errors.setdefault(self.unique_field, []).append(self.unique_message)
            self._update_errors(ValidationError(errors))


class TerritoryModelCopyForm(BootstrapFormMixin, forms.Form):
    code = forms.SlugField(max_length=60, help_text="Letters, digits and dashes; unique.")
    name = forms.CharField(max_length=200)


class TerritoryModelActivateForm(BootstrapFormMixin, forms.Form):
    effective_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: today. History rows close and open on this date.",
    )
    # Activation replaces the live alignment for every user: a deliberate second step, not one click.
    confirm = forms.BooleanField(
        label="Replace the active alignment with this plan",
        error_messages={"required": "Tick the box to confirm: activating replaces the live alignment for everyone."},
    )


class TerritoryForm(UniqueInScopeMixin, BootstrapFormMixin, forms.ModelForm):
    unique_field = "code"
    unique_message = "This model already has a territory with this code."

    class Meta:
        model = Territory
        fields = ["code", "name", "kind", "parent", "priority", "value_tier", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, territory_model: TerritoryModel, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance.territory_model = territory_model
        parents = Territory.objects.visible_to(user).filter(territory_model=territory_model).order_by("code")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["parent"].help_text = "Empty for a top-level territory. Figures of a parent include its subtree."

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        # The instance still holds the stored parent here (the form sets the new one after cleaning).
        if problem := territory_parent_scope_problem(user=self.user, parent=parent, territory=self.instance):
            raise forms.ValidationError(problem)
        return parent

    def clean(self):
        cleaned = super().clean()
        # Priority and kind decide which sibling an account goes to.
        changed = [f for f in ("priority", "kind") if f in cleaned and cleaned[f] != getattr(self.instance, f)]
        if changed and (problem := scoped_live_root_problem(user=self.user, territory=self.instance)):
            for field in changed:
                self.add_error(field, problem)
        return cleaned


class CriterionForm(BootstrapFormMixin, forms.ModelForm):
    values = forms.CharField(
        required=False, help_text="Comma-separated, e.g. US, CA. Matching ignores case.", label="Values"
    )

    class Meta:
        model = RuleCriterion
        fields = ["field", "operator", "values", "min_value", "max_value", "range_start", "range_end"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["values"] = ", ".join(self.instance.values)

    def clean_values(self):
        return [v.strip() for v in self.cleaned_data["values"].split(",") if v.strip()]


class CriterionPreviewForm(CriterionForm):
    """A criterion as the live previews read it: the same checks (RuleCriterion.clean, i.e.
    rule_criterion_validate, which also checks min ≤ max and the range order) without the query per
    check constraint, so a preview of a whole rule costs no query per criterion."""

    def _post_clean(self):
        self.instance.full_clean = functools.partial(
            RuleCriterion.full_clean, self.instance, validate_constraints=False
        )
        super()._post_clean()


class RuleForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = TerritoryRule
        fields = ["name", "position"]


class BaseCriterionFormSet(BaseInlineFormSet):
    """The criteria of one rule. Every form validates against the rule it belongs to (RuleCriterion.clean:
    the territory's kind, the operator, the values, one criterion per field)."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # The rule object itself (its territory already loaded), not only its id: clean() reads its kind.
        form.instance.rule = self.instance
        return form

    def clean(self):
        # Two forms on one field: the error goes on the later form's field (Django's own formset check
        # would only say "duplicate data" above the forms).
        seen = set()
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            field = form.cleaned_data.get("field") if hasattr(form, "cleaned_data") else None
            if field in seen:
                form.add_error("field", DUPLICATE_FIELD_MESSAGE)
            elif field:
                seen.add(field)


CriterionFormSet = inlineformset_factory(
    TerritoryRule,
    RuleCriterion,
    form=CriterionForm,
    formset=BaseCriterionFormSet,
    fields=CriterionForm.Meta.fields,
    extra=1,
    can_delete=False,  # a criterion is removed by its own button (territories:criterion-delete)
)


class AccountByExternalIdField(forms.ModelChoiceField):
    """An account typed in by its CRM id (a select of every account would be far too long)."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        super().__init__(
            queryset=Account.objects.none(),
            to_field_name="external_id",
            label="Account (CRM id)",
            help_text="The account's external id, e.g. ACC-1042.",
            error_messages={"invalid_choice": "No account you can see has this id."},
            **kwargs,
        )


class TerritoryOverrideForm(UniqueInScopeMixin, BootstrapFormMixin, forms.ModelForm):
    account = AccountByExternalIdField()
    unique_field = "account"
    unique_message = "This account is already pinned to this territory; edit that pin instead."

    class Meta:
        model = TerritoryOverride
        fields = ["account", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.visible_to(user)
        self.fields["reason"].help_text = "Why this account is pinned here; shown to everyone who sees it."
        if self.instance.pk:
            # Editing a pin changes its reason; pinning another account is a new pin.
            self.fields["account"].disabled = True
            self.initial["account"] = self.instance.account.external_id

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give a reason for the pin.")
        return reason


class NamedAccountForm(UniqueInScopeMixin, BootstrapFormMixin, forms.ModelForm):
    account = AccountByExternalIdField()
    unique_field = "account"
    unique_message = "This account is already named in this territory."

    class Meta:
        model = NamedAccount
        fields = ["account"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.visible_to(user)


class RepAssignmentForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = RepAssignment
        fields = ["rep", "role", "start_date", "end_date", "allocation_percent"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = Rep.objects.visible_to(user).filter(is_active=True).order_by("name")
