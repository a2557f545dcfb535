// A form (or its submit button) with data-confirm asks before it submits: deleting a rule, a pin or a
// criterion, revoking a token — one click must not undo someone's work.
document.addEventListener("submit", (event) => {
  const message = (event.submitter && event.submitter.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
}, true);
