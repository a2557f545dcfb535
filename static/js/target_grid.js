// The targets grid: fill the empty cells from last year's actuals (each cell's grey hint) times a growth
// factor — the usual way to draft next year's targets. Nothing is saved until "Save targets".
document.addEventListener("click", (event) => {
  const button = event.target.closest("#fill-from-last-year");
  if (!button) return;
  const growth = Number(document.getElementById("fill-growth").value || 0);
  const decimals = Number(button.dataset.decimals || 0);
  let filled = 0;
  document.querySelectorAll("#target-grid input[inputmode=decimal]").forEach((input) => {
    const hint = Number(input.placeholder);
    // A quarter or year summed from its months (data-derived) has a target already: left alone.
    if (input.value === "" && input.placeholder !== "" && !input.dataset.derived && !Number.isNaN(hint)) {
      input.value = (hint * (1 + growth / 100)).toFixed(decimals);
      filled += 1;
    }
  });
  document.getElementById("fill-status").textContent = `${filled} empty cell${filled === 1 ? "" : "s"} filled; review, then save.`;
});
