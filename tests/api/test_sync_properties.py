"""Property: a batch is written whole exactly when no row is bad, and errors name exactly the bad rows."""

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account
from accounts.services import UpsertRejected, sync_rows_upsert

# corruption name → (field it breaks, how)
CORRUPTIONS = {
    "employees_text": ("employees", lambda row: {**row, "employees": "many"}),
    "employees_negative": ("employees", lambda row: {**row, "employees": -1}),
    "country_unknown": ("country", lambda row: {**row, "country": "QQ"}),
    "name_missing": ("name", lambda row: {k: v for k, v in row.items() if k != "name"}),
    "unknown_field": ("colour", lambda row: {**row, "colour": "red"}),
    "latitude_alone": ("longitude", lambda row: {**row, "latitude": "10.5"}),
    "revenue_bool": ("annual_revenue", lambda row: {**row, "annual_revenue": True}),
}


class SyncBatchPropertyTests(TestCase):
    @settings(max_examples=40, deadline=None)
    @given(
        plan=st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=30),  # external id number (repeats make duplicates)
                st.one_of(st.none(), st.sampled_from(sorted(CORRUPTIONS))),
                st.integers(min_value=0, max_value=5000),
            ),
            min_size=1,
            max_size=12,
        )
    )
    def test_it_writes_all_or_nothing_and_names_every_bad_row(self, plan):
        rows, expected_bad = [], {}
        for index, (number, corruption, employees) in enumerate(plan):
            row = {"external_id": f"P-{number}", "name": f"Name {number}", "country": "US", "employees": employees}
            if corruption:
                field, corrupt = CORRUPTIONS[corruption]
                row = corrupt(row)
                expected_bad[index] = field
            rows.append(row)
        # Duplicates are checked among the rows that pass their own checks (reported with the bad rows).
        positions: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            if index not in expected_bad:
                positions.setdefault(row["external_id"], []).append(index)
        duplicated = {i for indexes in positions.values() if len(indexes) > 1 for i in indexes}

        try:
            result = sync_rows_upsert(kind="accounts", rows=rows)
        except UpsertRejected as rejected:
            reported = {(error.index, error.field) for error in rejected.errors}
            self.assertFalse(Account.objects.filter(external_id__startswith="P-").exists())
            # every bad row in one answer: its own problems, and duplicates among the rows that had none
            self.assertEqual(reported, set(expected_bad.items()) | {(index, "external_id") for index in duplicated})
            return
        self.assertEqual(expected_bad, {})
        self.assertEqual(duplicated, set())
        self.assertEqual(result.created, len(rows))
        stored = dict(Account.objects.filter(external_id__startswith="P-").values_list("external_id", "employees"))
        self.assertEqual(stored, {row["external_id"]: row["employees"] for row in rows})
