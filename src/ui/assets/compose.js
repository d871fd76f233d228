// The live parts of a compose page: the log and the state from the events stream (at a final
// state the rest of the page, artefacts and packages, is fetched and swapped in without a
// reload), and the package table's filter. Without JavaScript the page shows what the server
// rendered.
(function () {
  function initFilter() {
    var filter = document.getElementById("pkg-filter");
    if (!filter) { return; }
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      var rows = document.querySelectorAll("#packages tbody tr");
      for (var i = 0; i < rows.length; i++) {
        rows[i].style.display = rows[i].textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      }
    });
  }
  function refreshPage() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main");
        if (fresh) {
          document.querySelector("main").innerHTML = fresh.innerHTML;
          initFilter();
        }
      });
  }
  var log = document.getElementById("log");
  var badge = document.getElementById("state");
  var reason = document.getElementById("reason");
  if (log && log.dataset.final !== "true" && window.EventSource) {
    var es = new EventSource(log.dataset.events);
    var offset = parseInt(log.dataset.offset || "0", 10);
    es.addEventListener("log", function (e) {
      var id = parseInt(e.lastEventId || "0", 10);
      if (id <= offset) { return; }
      offset = id;
      log.textContent += e.data + "\n";
      log.scrollTop = log.scrollHeight;
    });
    es.addEventListener("state", function (e) {
      var s = JSON.parse(e.data);
      badge.textContent = s.state_name;
      badge.className = "badge " + s.state_name;
      reason.textContent = s.state_reason || "";
      if (["done", "failed", "removed"].indexOf(s.state_name) >= 0) {
        es.close();
        refreshPage();
      }
    });
  }
  initFilter();
})();
