"""The alignment: territory models, territories, their rules, rep assignments and account memberships.

Membership storage (one rule, used by every reader): AccountTerritoryMembership holds, for each
account and date, the *deepest* territories the account is in — a territory T is stored when the
account is in T and in none of T's children. Being in a child implies being in every ancestor, so
"accounts in T on date d" is memberships of T or any descendant of T (TerritoryClosure) valid on d.
This keeps the table near one row per account per overlay chain instead of one per ancestor.
"""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from core.access import (
    RepAssignmentQuerySet,
    RuleCriterionQuerySet,
    TerritoryModelQuerySet,
    TerritoryQuerySet,
    TerritoryScopedQuerySet,
)
from core.models import BackgroundRun
from territories.choices import (
    AssignmentRole,
    CriterionField,
    CriterionOperator,
    MembershipSource,
    OverlapReason,
    TerritoryKind,
    TerritoryModelState,
    ValueTier,
)


class TerritoryModel(models.Model):
    """A version of the whole alignment. Exactly one is active; planning ones are drafts."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=TerritoryModelState.choices, default=TerritoryModelState.PLANNING)
    description = models.TextField(blank=True, default="")
    copied_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    effective_from = models.DateField(null=True, blank=True, help_text="The date this model's alignment took effect.")
    activated_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    alignment_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When its territories, rules, criteria, named accounts or pins last changed (triggers).",
    )

    objects = TerritoryModelQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=Q(state=TerritoryModelState.ACTIVE),
                name="one_active_territory_model",
                violation_error_message="Another territory model is already active; activate replaces it.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_state_display()})"

    def validate_constraints(self, exclude=None):
        # Give the "one active model" rule a field-named message in forms and the admin.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            if self.state == TerritoryModelState.ACTIVE and any(
                "already active" in str(message) for message in error.messages
            ):
                raise ValidationError(
                    {"state": "Another territory model is already active; activate replaces it."}
                ) from None
            raise


class Territory(models.Model):
    territory_model = models.ForeignKey(TerritoryModel, on_delete=models.CASCADE, related_name="territories")
    code = models.SlugField(max_length=60, help_text="Stable across territory models, so history follows it.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=TerritoryKind.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    priority = models.IntegerField(default=0, help_text="Higher wins when sibling rules overlap.")
    value_tier = models.PositiveSmallIntegerField(choices=ValueTier.choices, default=ValueTier.CORE)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TerritoryQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "territories"
        indexes = [
            models.Index(fields=["territory_model", "kind"], name="territory_model_kind_idx"),
            models.Index(fields=["code"], name="territory_code_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["territory_model", "code"], name="territory_code_unique_in_model"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="territory_not_own_parent"),
        ]

    def __str__(self):
        return f"{self.name} [{self.code}]"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        stored = dict(zip(field_names, values, strict=True))
        # The kind as stored, so clean() checks the criteria only when the kind changes.
        instance._stored_kind = stored.get("kind")
        # The model as stored (unknown when deferred), so clean() refuses a move to another model.
        if "territory_model_id" in stored:
            instance._stored_territory_model_id = stored["territory_model_id"]
        return instance

    def clean(self):
        from territories.validation import territory_kind_validate

        # Its rules, pins, parent, children and history all belong to its model: a plan is made by copying
        # the model (territory_model_copy), never by moving territories between models.
        stored_model_id = getattr(self, "_stored_territory_model_id", None)
        if self.pk is not None and stored_model_id is not None and self.territory_model_id != stored_model_id:
            message = "A territory cannot move to another territory model; create it in that model instead."
            raise ValidationError({"territory_model": message})
        # One rule for the page, the API and the admin: a kind change must keep every criterion usable.
        if self.pk is not None and self.kind != getattr(self, "_stored_kind", None):
            territory_kind_validate(territory_id=self.pk, kind=self.kind)
        if self.parent_id is None:
            return
        parent = self.parent
        if self.territory_model_id and parent.territory_model_id != self.territory_model_id:
            raise ValidationError({"parent": "The parent must belong to the same territory model."})
        seen = set()
        node = parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"parent": "A territory cannot be its own ancestor."})
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


class TerritoryClosure(models.Model):
    """Ancestor → descendant pairs (depth 0 is the territory itself), kept in step with parents."""

    ancestor = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="descendant_links")
    descendant = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="ancestor_links")
    depth = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ancestor", "descendant"], name="territory_closure_unique")]
        indexes = [models.Index(fields=["descendant", "ancestor"], name="territory_closure_up_idx")]

    def __str__(self):
        return f"{self.ancestor_id} → {self.descendant_id} ({self.depth})"


class TerritoryRule(models.Model):
    """An account matches a rule when it meets all its criteria, a territory when it matches any rule."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    objects = TerritoryScopedQuerySet.as_manager()

    # Set by a caller that replaces all the criteria in the same save and checks the new ones against the
    # territory itself (the API's PUT/PATCH with criteria): clean() then leaves the stored ones alone.
    replacing_criteria = False

    class Meta:
        ordering = ["territory", "position", "id"]

    def __str__(self):
        return self.name or f"Rule {self.pk} of {self.territory.code}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The territory as stored (unknown when deferred), so clean() checks the criteria only on a move.
        stored = dict(zip(field_names, values, strict=True))
        if "territory_id" in stored:
            instance._stored_territory_id = stored["territory_id"]
        return instance

    def clean(self):
        from territories.validation import rule_territory_validate

        # One rule for the API and the admin: a rule moved to a territory of another kind must keep every
        # criterion usable there (the engine would ignore the others, so the rule would stop matching).
        stored_territory_id = getattr(self, "_stored_territory_id", None)
        moved = self.pk is not None and stored_territory_id is not None and self.territory_id != stored_territory_id
        if moved and self.territory_id is not None and not self.replacing_criteria:
            rule_territory_validate(rule_id=self.pk, territory=self.territory)


class RuleCriterion(models.Model):
    rule = models.ForeignKey(TerritoryRule, on_delete=models.CASCADE, related_name="criteria")
    field = models.CharField(max_length=20, choices=CriterionField.choices)
    operator = models.CharField(max_length=10, choices=CriterionOperator.choices, default=CriterionOperator.IN)
    values = ArrayField(models.CharField(max_length=100), blank=True, default=list)
    min_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    range_start = models.CharField(max_length=20, blank=True, default="")
    range_end = models.CharField(max_length=20, blank=True, default="")

    objects = RuleCriterionQuerySet.as_manager()

    class Meta:
        ordering = ["rule", "id"]
        verbose_name_plural = "rule criteria"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(max_value__isnull=True) | Q(min_value__lte=F("max_value")),
                name="criterion_min_not_above_max",
                # Read when the field's own checks were skipped (a field the territory's kind cannot use).
                violation_error_message="The minimum is above the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(range_start="") | Q(range_end="") | Q(range_start__lte=F("range_end")),
                name="criterion_range_ordered",
                violation_error_message="The first postal code comes after the last one.",
            ),
            # One criterion per field in a rule, so "all criteria" stays a plain AND of distinct fields.
            models.UniqueConstraint(
                fields=["rule", "field"],
                name="criterion_one_per_field",
                violation_error_message="This rule already has a criterion on this field; put all values in it.",
            ),
        ]

    def __str__(self):
        return f"{self.get_field_display()} {self.get_operator_display()}"

    def clean(self):
        from territories.validation import rule_criterion_validate

        kind = self.rule.territory.kind if self.rule_id else None
        rule_criterion_validate(
            territory_kind=kind,
            field=self.field,
            operator=self.operator,
            values=self.values,
            min_value=self.min_value,
            max_value=self.max_value,
            range_start=self.range_start,
            range_end=self.range_end,
            rule_id=self.rule_id,
            criterion_id=self.pk,
        )


class NamedAccount(models.Model):
    """An account named in an account-based territory."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="named_accounts")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="named_in")

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["territory", "account"], name="named_account_unique")]

    def __str__(self):
        return f"{self.account} in {self.territory.code}"

    def clean(self):
        from territories.validation import named_account_territory_validate

        if self.territory_id is not None:
            named_account_territory_validate(territory=self.territory)


class TerritoryOverride(models.Model):
    """A manager pins an account to a territory; it beats rules and survives every re-run."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="overrides")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="territory_overrides")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["territory", "account"], name="override_unique"),
            models.CheckConstraint(condition=~Q(reason=""), name="override_has_reason"),
        ]

    def __str__(self):
        return f"{self.account} pinned to {self.territory.code}"


class RepAssignment(models.Model):
    """A rep works a territory in a role between two dates (end inclusive, open when empty)."""

    rep = models.ForeignKey("reps.Rep", on_delete=models.PROTECT, related_name="assignments")
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="rep_assignments")
    role = models.CharField(max_length=10, choices=AssignmentRole.choices, default=AssignmentRole.OWNER)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    allocation_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MaxValueValidator(100)], help_text="Share of the rep's time on this territory."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RepAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["territory", "role", "start_date"]
        indexes = [models.Index(fields=["rep", "end_date"], name="assignment_rep_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="assignment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(allocation_percent__gte=1, allocation_percent__lte=100), name="assignment_allocation_1_100"
            ),
            # One owner per territory at a time. int8range(id, id) stands in for btree_gist's "=",
            # which the embedded server does not ship.
            ExclusionConstraint(
                name="one_owner_at_a_time",
                expressions=[
                    (Func(F("territory"), F("territory"), Value("[]"), function="int8range"), RangeOperators.EQUAL),
                    (Func(F("start_date"), F("end_date"), Value("[]"), function="daterange"), RangeOperators.OVERLAPS),
                ],
                condition=Q(role=AssignmentRole.OWNER),
                violation_error_message="The territory already has an owner for these dates.",
            ),
        ]

    def __str__(self):
        return f"{self.rep} – {self.territory.code} ({self.role})"

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The assignment cannot end before it starts."})

    def validate_constraints(self, exclude=None):
        # Show "one owner at a time" next to the dates in forms and the admin, not above the form.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict({})
            general = errors.pop(NON_FIELD_ERRORS, [])
            overlap = next(c for c in self._meta.constraints if c.name == "one_owner_at_a_time")
            overlaps = [e for e in general if e.message == overlap.get_violation_error_message()]
            if not overlaps:
                raise
            errors["start_date"] = errors.get("start_date", []) + overlaps
            if others := [e for e in general if e not in overlaps]:
                errors[NON_FIELD_ERRORS] = others
            raise ValidationError(errors) from None


class AccountTerritoryMembership(models.Model):
    """Account A was in territory T from valid_from (inclusive) to valid_to (exclusive; open = now).

    Only the deepest territories are stored; see the module docstring.
    """

    # No single-column indexes: the composite ones below lead with each key, and every index costs the
    # engine's bulk writes (millions of rows on a first run). No database FK constraints either (as on the
    # other tables the engine loads in bulk): the engine writes rows only for accounts and territories it
    # read in the same transaction and the ORM protects both from deletion; a constraint cost a bulk load
    # its validation (1.3–2.2 s for 3–6 million rows) and, while dropped and re-added, an ACCESS EXCLUSIVE
    # lock on accounts and territories — every page waited for a first run or an activation to commit.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="memberships", db_index=False, db_constraint=False
    )
    territory = models.ForeignKey(
        Territory, on_delete=models.PROTECT, related_name="memberships", db_index=False, db_constraint=False
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=MembershipSource.choices, default=MembershipSource.RULE)

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            # One index by territory for the current rows (access scoping asks "accounts currently in these
            # territories": an index-only probe per territory, valid_to checked in the index) and for the
            # history (a KPI recompute of some territories reads their closed rows too). It replaced a
            # (territory, valid_from) index and a partial (territory, account) one on current rows: a first
            # run or an activation builds one index fewer over its millions of rows (migration 0018).
            models.Index(fields=["territory", "account"], include=["valid_to"], name="membership_territory_idx"),
            # No partial (account) index on current rows: this one serves those lookups (an account has a
            # handful of rows), and a first run builds one index fewer over its millions of rows.
            models.Index(fields=["account", "valid_from"], name="membership_account_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")), name="membership_valid_range"
            ),
        ]

    def __str__(self):
        return f"{self.account_id} in {self.territory_id} [{self.valid_from}, {self.valid_to or '…'})"


class DealTerritoryMembership(models.Model):
    """Deal D was in product territory T from valid_from to valid_to (exclusive); deepest only."""

    # No database FK constraints, as on AccountTerritoryMembership.
    deal = models.ForeignKey("accounts.Deal", on_delete=models.PROTECT, related_name="memberships", db_constraint=False)
    # (deal_territory_idx leads with the territory; a plain index on it would only slow the writes)
    territory = models.ForeignKey(
        Territory, on_delete=models.PROTECT, related_name="deal_memberships", db_index=False, db_constraint=False
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["territory", "valid_from"], name="deal_membership_territory_idx"),
            models.Index(fields=["deal"], name="deal_membership_current_idx", condition=Q(valid_to__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")), name="deal_membership_valid_range"
            ),
        ]

    def __str__(self):
        return f"deal {self.deal_id} in {self.territory_id} [{self.valid_from}, {self.valid_to or '…'})"


class AssignmentRun(BackgroundRun):
    territory_model = models.ForeignKey(TerritoryModel, on_delete=models.CASCADE, related_name="runs")
    dry_run = models.BooleanField(default=False)
    # An activation is a run too: at a million accounts it takes most of a minute, not a request's work.
    activation = models.BooleanField(default=False, help_text="This run makes its model the active alignment.")
    effective_from = models.DateField(null=True, blank=True, help_text="An activation's effective date.")

    class Meta(BackgroundRun.Meta):
        indexes = [models.Index(fields=["territory_model", "-created_at"], name="assignment_run_model_idx")]


class PlanAccountAnswer(models.Model):
    """A non-active model's computed alignment, one row per account: its deepest territories as the
    engine's answer signature (territory_id * 4 + source: 0 override, 1 named, 2 rule; see
    territories.engine). A plan run compares each account's new signature with this one and rewrites only
    the accounts whose answer changed; PlannedAccountTerritory reads it as rows."""

    # Derived, a million rows per plan at scale and rewritten by each run of the plan: no database FK
    # constraints, and one index (the key). An account deleted since leaves its row until the plan's next
    # run (accounts with history cannot be deleted at all).
    pk = models.CompositePrimaryKey("territory_model_id", "account_id")
    territory_model = models.ForeignKey(
        TerritoryModel, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    sig = ArrayField(models.BigIntegerField())

    def __str__(self):
        return f"{self.account_id} → {self.sig} (plan {self.territory_model_id})"


class PlannedAccountTerritory(models.Model):
    """A non-active model's computed alignment as rows (deepest territories, as in memberships): a
    database view over PlanAccountAnswer, read-only."""

    pk = models.CompositePrimaryKey("territory_model_id", "account_id", "territory_id")
    territory_model = models.ForeignKey(
        TerritoryModel, on_delete=models.DO_NOTHING, related_name="planned_accounts", db_constraint=False
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    territory = models.ForeignKey(
        Territory, on_delete=models.DO_NOTHING, related_name="planned_accounts", db_constraint=False
    )
    source = models.CharField(max_length=10, choices=MembershipSource.choices)

    class Meta:
        managed = False
        db_table = "territories_plannedaccountterritory"

    def __str__(self):
        return f"{self.account_id} → {self.territory_id} (plan {self.territory_model_id})"


class PlannedDealTerritory(models.Model):
    # Derived rows, rewritten by each run of the plan: no database FK constraints.
    territory_model = models.ForeignKey(
        TerritoryModel,
        on_delete=models.CASCADE,
        related_name="planned_deals",
        db_constraint=False,
        db_index=False,  # planned_deal_model_idx leads with it
    )
    deal = models.ForeignKey("accounts.Deal", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    territory = models.ForeignKey(
        Territory, on_delete=models.CASCADE, related_name="planned_deals", db_constraint=False
    )

    class Meta:
        indexes = [models.Index(fields=["territory_model", "deal"], name="planned_deal_model_idx")]

    def __str__(self):
        return f"deal {self.deal_id} → {self.territory_id} (plan {self.territory_model_id})"


class PlanDiff(models.Model):
    """A plan's latest run against the active alignment, both sides read at one moment, so the model page
    reads it instead of comparing millions of rows per view. Computed by a task after each plan run and
    each activation (services.plan_diff_refresh)."""

    territory_model = models.OneToOneField(TerritoryModel, on_delete=models.CASCADE, related_name="plan_diff")
    active_model = models.ForeignKey(TerritoryModel, on_delete=models.CASCADE, related_name="+")
    # The plan run whose rows were compared: a later run makes the diff pending until the task stores it.
    run = models.ForeignKey(AssignmentRun, on_delete=models.SET_NULL, null=True, related_name="+")
    computed_at = models.DateTimeField()
    moved_accounts = models.PositiveIntegerField(help_text="Accounts whose deepest territories differ.")
    # The first moves (territories.selectors.PLAN_DIFF_MOVES_KEPT) and every territory code's figures, as
    # territory_model_diff returns them (revenue as decimal strings).
    moves = models.JSONField(default=list)
    territories = models.JSONField(default=list)

    def __str__(self):
        return f"plan {self.territory_model_id} against {self.active_model_id} ({self.computed_at:%Y-%m-%d %H:%M})"


class AssignmentOverlap(models.Model):
    """Siblings of one kind that all claimed an account in the latest run, the winner and why."""

    # Derived rows, rewritten by every run (tens of thousands at a time): no database FK constraints, whose
    # deferred per-row checks cost a first run more than writing the rows; the ORM still cascades deletes
    # and every run replaces the model's rows from current accounts and territories.
    territory_model = models.ForeignKey(
        TerritoryModel, on_delete=models.CASCADE, related_name="overlaps", db_constraint=False
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    winner = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="overlaps_won", db_constraint=False)
    loser = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="overlaps_lost", db_constraint=False)
    reason = models.CharField(max_length=20, choices=OverlapReason.choices)

    class Meta:
        ordering = ["territory_model", "account", "winner"]
        indexes = [models.Index(fields=["territory_model", "account"], name="overlap_model_account_idx")]

    def __str__(self):
        return f"{self.account_id}: {self.winner_id} over {self.loser_id} ({self.reason})"


class ReassignPending(models.Model):
    """An account whose territories must be recomputed, recorded in the same transaction as the change.

    A Celery task drains the queue after commit; a beat sweep re-enqueues what a lost message left here.
    Keyed by account id without a foreign key, so queueing never locks the account row.
    """

    account_id = models.BigIntegerField(primary_key=True)
    since = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"account {self.account_id} pending since {self.since:%Y-%m-%d %H:%M}"
