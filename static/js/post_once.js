// A page answering a POST with something shown once (a new API key): the history entry becomes a plain GET
// of the same address, so reloading shows the list again instead of posting the form a second time.
if (document.querySelector("[data-post-once]")) {
  history.replaceState(null, "", location.href);
}
