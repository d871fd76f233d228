// Rows of composes still waiting or generating refresh their state every two seconds.
(function () {
  function refresh() {
    var rows = document.querySelectorAll("tr[data-running]");
    rows.forEach(function (row) {
      fetch(row.closest("main").ownerDocument.querySelector("header .brand").getAttribute("href").replace(/\/$/, "") + "/api/1/composes/" + row.dataset.id)
        .then(function (r) { return r.json(); })
        .then(function (c) {
          var b = row.querySelector(".badge");
          b.textContent = c.state_name;
          b.className = "badge " + c.state_name;
          if (c.state_name !== "wait" && c.state_name !== "generating") { delete row.dataset.running; }
        })
        .catch(function () {});
    });
    if (document.querySelector("tr[data-running]")) { setTimeout(refresh, 2000); }
  }
  setTimeout(refresh, 2000);
})();
