// OpenZone console behaviour that htmx attributes do not cover: dialogs,
// "select all" and copy buttons. No inline scripts (the CSP forbids them).
document.addEventListener("click", function (e) {
  var open = e.target.closest("[data-dialog-open]");
  if (open) { document.getElementById(open.dataset.dialogOpen).showModal(); return; }
  var close = e.target.closest("[data-dialog-close]");
  if (close) { close.closest("dialog").close(); return; }
  var copy = e.target.closest("[data-copy]");
  if (copy) {
    var el = document.getElementById(copy.dataset.copy);
    if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim());
    copy.textContent = "Copied 已复制";
  }
});
document.addEventListener("change", function (e) {
  if (e.target.matches("[data-select-all]")) {
    document.querySelectorAll("input[name=id]").forEach(function (c) { c.checked = e.target.checked; });
  }
});
// A confirmed dialog closes once its request is sent.
document.addEventListener("htmx:beforeRequest", function (e) {
  var d = e.target.closest && e.target.closest("dialog");
  if (d && d.open) d.close();
});
// A poll must not swap away a dialog the user has open.
document.addEventListener("htmx:beforeSwap", function (e) {
  if (e.detail.target && e.detail.target.querySelector && e.detail.target.querySelector("dialog[open]")) e.detail.shouldSwap = false;
});
// Live rows replace the inspector's empty state.
document.addEventListener("htmx:afterSwap", function () {
  var empty = document.getElementById("traffic-empty");
  if (empty && document.querySelector("#traffic-rows tr.click")) empty.remove();
});
