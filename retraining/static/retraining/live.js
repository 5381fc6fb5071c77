// Live training status: polls the console's status endpoint while a version trains, updates the
// status line, and reloads the page once the run has finished (so its metrics appear).
(function () {
  "use strict";
  var box = document.getElementById("training-status");
  if (!box || !box.dataset.liveUrl) return;
  var url = box.dataset.liveUrl;
  var text = document.getElementById("training-status-text") || box;
  var watching = box.dataset.training === "true";
  var interval = parseInt(box.dataset.interval || "2000", 10);

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) return;
        if (status.isTraining || status.queued) {
          watching = true;
          box.hidden = false;
          box.dataset.training = "true";
          text.textContent = status.text;
          box.dataset.iteration = status.iteration || "";
          box.dataset.step = status.step || "";
        } else if (watching) {
          text.textContent = "Training finished; reloading ...";
          box.dataset.training = "false";
          window.location.reload();
          return;
        }
        window.setTimeout(poll, watching ? interval : interval * 5);
      })
      .catch(function () { window.setTimeout(poll, interval * 3); });
  }
  window.setTimeout(poll, watching ? interval : interval * 5);
})();
