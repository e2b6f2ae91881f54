// A pending result page asks the API where its submission stands and reloads once it is
// graded; without JavaScript the page's <noscript> refresh does the same.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job) { return; }
  var seconds = Number(job.dataset.poll) || 2;
  function look() {
    fetch("/api/submissions/" + job.dataset.id, {credentials: "same-origin"})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (now) {
        if (!now) { return; }
        if (now.status !== "queued" && now.status !== "running") { location.reload(); return; }
        var status = document.getElementById("status");
        status.textContent = now.status;
        status.className = "status-" + now.status;
        var position = document.getElementById("position");
        if (position) {
          position.textContent = now.position === null ? "" :
            "(" + now.position + " ahead of it in the queue)";
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(look, seconds * 1000); });
  }
  setTimeout(look, seconds * 1000);
})();
